"""The xdist groups that keep a module-scoped fixture on one worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import module_fixture_group

MODULE = "tests/test_xdist_groups.py"


@pytest.fixture(scope="module")
def shared_value() -> Iterator[int]:
    yield 7


@pytest.fixture
def through_shared(shared_value: int) -> int:
    return shared_value + 1


def test_module_fixture_user_grouped(
    request: pytest.FixtureRequest, shared_value: int
) -> None:
    assert shared_value == 7
    assert module_fixture_group(request.node) == MODULE
    mark = request.node.get_closest_marker("xdist_group")
    assert mark is not None
    assert mark.args == (MODULE,)


def test_indirect_module_fixture_user_grouped(
    request: pytest.FixtureRequest, through_shared: int
) -> None:
    """A function fixture that needs a module fixture groups its test too."""
    assert through_shared == 8
    assert module_fixture_group(request.node) == MODULE


def test_function_fixtures_only_not_grouped(
    request: pytest.FixtureRequest, tmp_path: object
) -> None:
    assert module_fixture_group(request.node) is None
    assert request.node.get_closest_marker("xdist_group") is None
