"""The words of watch profile problems, shared by the form and the CLI."""

from __future__ import annotations

from evedmv_tui.intel.watch import ProfileSpec


def messages(spec: ProfileSpec) -> dict[str, str]:
    return {p.field: p.message for p in spec.problems()}


def test_id_problem_names_the_kind_of_id() -> None:
    """The message named the internal field: "ship_type_ids contains ..."."""
    found = messages(ProfileSpec("t", ship_type_ids=(2**63,), alliance_ids=(0,)))

    assert found["ship_type_ids"] == (f"ship type id {2**63} is above the largest id")
    assert found["alliance_ids"] == "alliance id 0 is not a positive id"


def test_every_unknown_ship_class_is_named() -> None:
    """Only the first unknown class was named, so 'bogus' went unmentioned."""
    found = messages(ProfileSpec("t", ship_classes=("titan", "frigate", "bogus")))

    assert found["ship_classes"] == "unknown ship classes 'titan', 'bogus'"
    one = messages(ProfileSpec("t", ship_classes=("titan",)))
    assert one["ship_classes"] == "unknown ship class 'titan'"
