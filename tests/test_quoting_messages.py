"""Messages quote the user's values as typed, not as Python's repr.

repr doubled each backslash, so ``Jita\\`` was reported as ``'Jita\\\\'``
while the next line showed the filter as typed.
"""

from __future__ import annotations

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.report import BattleFilter, unknown_places
from evedmv_tui.commands.intel import EntityNotFound, resolve_entity
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.intel.entities import EntityKind
from evedmv_tui.intel.watch import ProfileSpec, WatchError
from evedmv_tui.screens.battles import BattlesScreen
from evedmv_tui.screens.entity import AllianceScreen
from evedmv_tui.screens.watch import problem_lines
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import quote_value
from tests.test_app import until, wait_connected


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("[b]x\\", "'[b]x\\'"),
        ("O'Neil", "'O'Neil'"),
        ('say "hi"', "'say \"hi\"'"),
        ("Jita", "'Jita'"),
        ("é 世界", "'é 世界'"),
        ("a\tb\nc", "'a\\tb\\nc'"),
        ("\x1b[31mred", "'\\x1b[31mred'"),
        ("\x7f\x85", "'\\x7f\\x85'"),
        (42, "'42'"),
    ],
)
def test_quote_value_keeps_typed_text(value: object, quoted: str) -> None:
    assert quote_value(value) == quoted


def test_unknown_system_quoted_as_typed(db: Database) -> None:
    """The battles filter reported ``[bold]Jita\\`` with a doubled backslash."""
    found = unknown_places(db, BattleFilter(system="[bold]Jita\\"))
    assert found == ["no solar system named '[bold]Jita\\' is stored"]


def test_watch_unknown_system_quoted_as_typed(db: Database) -> None:
    """The watch form's Systems field reported ``[red]Jita\\`` doubled."""
    spec = ProfileSpec("home", system_names=("[red]Jita\\",))
    problems = watch.unknown_places(db, spec)
    [line] = problem_lines(problems, hinted=0)
    assert line == "Systems: no solar system named '[red]Jita\\' is stored"


def test_watch_error_quotes_profile_name(db: Database) -> None:
    """A saved profile's error quoted its name with repr."""
    spec = ProfileSpec("C:\\fleet", system_names=("Nowhere",))
    with pytest.raises(WatchError) as error:
        watch.create_profile(db, spec)
    assert "watch profile 'C:\\fleet': " in str(error.value)


def test_entity_not_found_quoted_as_typed(db: Database) -> None:
    """The command line's not-found message doubled the backslash."""
    with pytest.raises(EntityNotFound) as error:
        resolve_entity(db, EntityKind.ALLIANCE, "[b]x\\")
    assert "no alliance with the id or name '[b]x\\' is stored" in str(error.value)


async def test_alliance_page_quotes_query(settings: Settings) -> None:
    """The alliance page reported the name '[b]x\\\\' with a doubled backslash."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        app.open_screen("alliance", "[b]x\\")
        await until(pilot, lambda: isinstance(app.screen, AllianceScreen))
        await wait_connected(app, pilot)
        screen = app.screen
        title = screen.query_one("#entity-title", Static)
        await until(pilot, lambda: "is stored" in str(title.render()))
        text = " ".join(str(title.render()).split())
        assert "No alliance with the id or name '[b]x\\' is stored." in text


async def test_battles_status_quotes_system(settings: Settings) -> None:
    """The battles status doubled the backslash of an unknown system."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        app.open_screen("battles", "[bold]Jita\\")
        await until(pilot, lambda: isinstance(app.screen, BattlesScreen))
        await wait_connected(app, pilot)
        summary = app.screen.query_one("#battles-summary", Static)
        await until(pilot, lambda: "is stored" in str(summary.render()))
        text = " ".join(str(summary.render()).split())
        assert "no solar system named '[bold]Jita\\' is stored: press f" in text
