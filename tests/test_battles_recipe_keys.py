"""Battle recipes with keys that a recipe does not have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.battles.recipe import RecipeError, read_recipe
from evedmv_tui.cli import main

JITA = 30000142

OVERRIDE = {"entity_kind": "character", "entity_id": 90000001, "new_side": 1}


def write(tmp_path: Path, **fields: Any) -> Path:
    document = {
        "version": 2,
        "systems": [JITA],
        "start": "2021-11-27T18:00:00+00:00",
        "end": "2021-11-27T19:00:00+00:00",
        **fields,
    }
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("fields", "where", "key"),
    [
        ({"overides": [OVERRIDE]}, "the top level", "overides"),
        ({"parameter": {"quiet_minutes": 30}}, "the top level", "parameter"),
        (
            {"overrides": [OVERRIDE, {**OVERRIDE, "note": "hi"}]},
            "field 'overrides[1]'",
            "note",
        ),
    ],
)
def test_unknown_key_rejected(
    tmp_path: Path, fields: dict[str, Any], where: str, key: str
) -> None:
    """A misspelt or extra key fails instead of being ignored, which would
    rebuild the battle without the overrides or parameters it names."""
    path = write(tmp_path, **fields)

    with pytest.raises(RecipeError) as caught:
        read_recipe(path)

    rendered = caught.value.render()
    assert f"{path}: {where} has the unknown key {key!r}" in rendered
    assert "allowed keys: " in rendered
    if where == "the top level":
        assert "version, systems, start, end, overrides, parameters" in rendered
    else:
        assert "entity_kind, entity_id, anchor_kind, anchor_id, new_side" in rendered


def test_all_known_keys_read(tmp_path: Path) -> None:
    anchored = {
        "entity_kind": "corporation",
        "entity_id": 98000102,
        "anchor_kind": "alliance",
        "anchor_id": 99000102,
    }
    path = write(
        tmp_path,
        overrides=[OVERRIDE, anchored],
        parameters={"quiet_minutes": 30},
    )

    recipe = read_recipe(path)

    assert len(recipe.overrides) == 2
    assert recipe.parameters == {"quiet_minutes": 30}


def test_show_recipe_unknown_key_fails(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, overides=[OVERRIDE])

    status = main(["--dsn", db_url, "battles", "show", "--recipe", str(path)])

    err = capsys.readouterr().err
    assert status == 2
    assert "unknown key 'overides'" in err
