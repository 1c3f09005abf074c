"""The status bar's cut messages and the screen that shows them in full."""

from __future__ import annotations

import dataclasses

from rich.cells import cell_len
from textual.widgets import Static
from textual.widgets._header import HeaderTitle

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.home import HomeScreen
from evedmv_tui.screens.messages import MessagesScreen
from evedmv_tui.widgets.status import (
    CUT_SUFFIX,
    MESSAGES_KEY,
    MessageLog,
    Severity,
    StatusState,
)

LONG_WARNING = (
    "5 names shown as #id, r tries again: POST /universe/names/ failed 4 times"
    " in a row (connection refused by esi.example.invalid), the last at 19:02"
)


async def wait_idle(app: EvedmvApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await app.screen.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


def test_log_records_each_new_message() -> None:
    log = MessageLog(size=3)
    state = StatusState(message="first", message_severity=Severity.INFO)
    log.record(state)
    # The alert count changes, the message stays: no second entry.
    log.record(dataclasses.replace(state, alert_count=2))
    assert [m.text for m in log.messages] == ["first"]
    log.record(dataclasses.replace(state, message=""))
    log.record(state)
    assert [m.text for m in log.messages] == ["first", "first"]
    for text in ("second", "third"):
        log.record(dataclasses.replace(state, message=text))
    assert [m.text for m in log.messages] == ["first", "second", "third"]


async def test_cut_warning_names_full_text_key(settings: Settings) -> None:
    """A warning longer than 80 columns was cut with no way to read the rest."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        app.set_status(LONG_WARNING, Severity.WARNING)
        await pilot.pause()
        shown = str(app.screen.query_one("#status-message", Static).render())
        assert shown.startswith("WARNING: 5 names shown as #id")
        assert shown.endswith(CUT_SUFFIX)
        assert cell_len(shown) <= 80 - 2

        await pilot.press(MESSAGES_KEY)
        await pilot.pause()
        assert isinstance(app.screen, MessagesScreen)
        listed = str(app.screen.query_one("#messages-list", Static).render())
        assert LONG_WARNING in listed
        assert "WARNING" in listed

        # A newer message shows above the older one, also while open.
        app.set_status("database connection checked: the server answers")
        await pilot.pause()
        listed = str(app.screen.query_one("#messages-list", Static).render())
        assert listed.index("connection checked") < listed.index(LONG_WARNING)

        # The same key closes the list again.
        await pilot.press(MESSAGES_KEY)
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_short_message_stays_uncut(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        app.set_status("reloaded", Severity.WARNING)
        await pilot.pause()
        shown = str(app.screen.query_one("#status-message", Static).render())
        assert shown == "WARNING: reloaded"


async def test_help_lists_messages_key(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = "\n".join(
            str(text.render()) for text in app.screen.query(".help-bindings")
        )
        assert f"{MESSAGES_KEY:>12}  Status messages" in shown.splitlines()


async def test_list_keeps_popup_notifications(settings: Settings) -> None:
    """A pop-up goes after a few seconds; the list keeps its text and title."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        app.screen.notify("backend 21217 ([b]psql[/b]) cancelled")
        app.notify(
            "connection refused\nThe dashboard retries by itself.",
            title="Database connection lost",
            severity="error",
            markup=False,
        )
        await pilot.press(MESSAGES_KEY)
        await pilot.pause()
        assert isinstance(app.screen, MessagesScreen)
        listed = str(app.screen.query_one("#messages-list", Static).render())
        assert "No status messages yet." not in listed
        assert "INFO\nbackend 21217 (psql) cancelled" in listed
        assert "ERROR\nDatabase connection lost: connection refused\n" in listed
        assert listed.index("connection lost") < listed.index("21217")

        # A pop-up while the list is open shows at its top.
        app.notify("exported to /tmp/battle-393.md and .json", markup=False)
        await pilot.pause()
        listed = str(app.screen.query_one("#messages-list", Static).render())
        assert listed.index("battle-393.md") < listed.index("connection lost")


async def test_list_title_fits_while_disconnected(settings: Settings) -> None:
    """The header of the list leaves out the connection state, which the
    status bar shows, so the title is not cut at 80 columns."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        app.sub_title = "disconnected since 19:41:28, next try 19:41:58 (attempt 3)"
        await pilot.press(MESSAGES_KEY)
        await pilot.pause()
        assert isinstance(app.screen, MessagesScreen)
        title = app.screen.query_one(HeaderTitle)
        assert str(title.render()) == "Status messages"
