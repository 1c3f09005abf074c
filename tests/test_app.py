"""The dashboard shell: start-up, connection state, navigation and help."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast
from textual.worker import WorkerCancelled, WorkerFailed

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens import declared_bindings
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.home import HomeScreen
from evedmv_tui.widgets.prompt import PromptScreen
from evedmv_tui.widgets.status import CUT_SUFFIX, KeyFooter, StatusBar
from tests.conftest import login_role


def static_text(app: EvedmvApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def wait_connected(app: EvedmvApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await app.screen.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def test_app_connects_and_shows_home(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        assert app.db is not None
        assert app.capabilities is not None
        assert isinstance(app.screen, HomeScreen)
        assert app.status.connection.phase == "connected"
        assert app.sub_title.startswith("connected: PostgreSQL")
        assert "Killmails stored   0" in static_text(app, "#overview")


async def test_help_opens_and_closes(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = [str(s.render()) for s in app.screen.query(".help-bindings")]
        assert any("Reload" in text for text in shown)
        # Textual describes its ctrl+p binding as "palette"; help capitalises it.
        palette_lines = [
            line.strip() for line in shown[-1].splitlines() if "alette" in line
        ]
        assert palette_lines == ["^p  Palette"]
        assert "Quit" in shown[-1]
        assert "Killmail: One killmail" in static_text(app, "#help-screens")
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_home_offers_no_back(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        assert "escape" not in app.screen.active_bindings
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("question_mark")
        assert "escape" in app.screen.active_bindings


async def test_prompt_footer_shows_its_own_keys(settings: Settings) -> None:
    """A dialog's footer names its keys, not those of the screen under it,
    which do not act while the dialog is open."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        footers = list(app.screen.query(KeyFooter))
        assert len(footers) == 1
        assert footers[0].region.bottom == 24
        descriptions = [key.description for key in footers[0].query(FooterKey)]
        assert descriptions == ["Cancel"]
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_help_wraps_under_descriptions(settings: Settings) -> None:
    """A description too long for one line continues under its first word.

    Wrapped lines used to start at the left edge, under the keys.
    """
    from evedmv_tui.screens.help import TIPS

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()

        def shown(selector: str) -> list[str]:
            widget = app.screen.query_one(selector, Static)
            return [widget.render_line(y).text for y in range(widget.size.height)]

        screens = shown("#help-screens")
        assert len(screens) > len(app.screen_entries)
        keyed = [line for line in screens if line[:14].strip()]
        assert len(keyed) == len(app.screen_entries)
        tips = shown("#help-tips")
        assert len(tips) > len(TIPS)
        assert len([line for line in tips if line.startswith("- ")]) == len(TIPS)
        assert all(line.startswith(("- ", "  ")) for line in tips)


async def test_q_quits(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        assert app.is_running
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


RunCalls = list[tuple[EvedmvApp, dict[str, Any]]]


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> RunCalls:
    """Record calls of ``EvedmvApp.run_async`` instead of running the app.

    The settings point at this test's database and directories alone.
    """
    calls: RunCalls = []

    async def run_async(app: EvedmvApp, **kwargs: Any) -> None:
        calls.append((app, kwargs))

    monkeypatch.setattr(EvedmvApp, "run_async", run_async)
    for name in ("EVEDMV_STATE_DIR", "EVEDMV_LOG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EVEDMV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EVEDMV_DSN", db_url)
    return calls


def test_no_mouse_option_reaches_run(run_calls: RunCalls) -> None:
    from evedmv_tui import cli

    assert cli.main(["--no-mouse"]) == 0
    assert len(run_calls) == 1
    app, arguments = run_calls[0]
    assert isinstance(app, EvedmvApp)
    assert arguments == {"mouse": False}
    assert app.settings.mouse is False


def test_bare_command_opens_dashboard(run_calls: RunCalls, db_url: str) -> None:
    from evedmv_tui import cli

    assert cli.main([]) == 0
    assert len(run_calls) == 1
    app, arguments = run_calls[0]
    assert isinstance(app, EvedmvApp)
    assert arguments == {"mouse": True}
    assert app.settings.dsn == db_url


async def test_failed_start_exits_nonzero(tmp_path: Path) -> None:
    settings = Settings(
        dsn="postgresql://nobody@127.0.0.1:9/none?connect_timeout=1",
        data_dir=tmp_path / "data",
        state_dir=tmp_path / "state",
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete()
        # The app exits after the next refresh of its first screen.
        await pilot.pause()
    assert app.return_code == 2
    assert app.startup_error is not None
    assert app.startup_error.title == "cannot connect to PostgreSQL"


async def test_small_terminal_shows_required_size(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_connected(app, pilot)
        message = static_text(app, "#too-small")
        assert "The terminal is 60x20" in message
        assert "at least 80x24" in message
        assert app.screen.has_class("-too-small")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")


async def test_palette_lists_every_screen(settings: Settings) -> None:
    from evedmv_tui.app import ScreenCommands

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        provider = ScreenCommands(app.screen)
        found = [str(hit.text) async for hit in provider.discover()]
        assert found == [f"Open {entry.title}" for entry in app.screen_entries]
        direct = [str(hit.text) async for hit in provider.search("killmail 42")]
        assert "Open Killmail 42" in direct


async def test_palette_footer_shows_its_own_keys(settings: Settings) -> None:
    """The open palette covers the footer of the screen under it, whose keys
    do not act while it is open."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        footers = list(palette.query(KeyFooter))
        assert len(footers) == 1
        assert footers[0].region.bottom == 24
        descriptions = [key.description for key in footers[0].query(FooterKey)]
        assert "Reload" not in descriptions
        assert descriptions == ["Exit the command palette"]
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_palette_takes_names_with_spaces(settings: Settings) -> None:
    """Every word after the screen's name is the argument, not only the last."""
    from evedmv_tui.app import ScreenCommands

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        provider = ScreenCommands(app.screen)
        cases = {
            "alliance Brave Arrow": "Open Alliance Brave Arrow",
            "character Mako Rusk XVII": "Open Character Mako Rusk XVII",
            "alliance brave": "Open Alliance brave",
            "battle report 42": "Open Battle report 42",
            "battle 42": "Open Battle report 42",
        }
        for query, expected in cases.items():
            found = [str(hit.text) async for hit in provider.search(query)]
            assert expected in found, (query, found)
        hits = [hit async for hit in provider.search("alliance Brave Arrow")]
        [hit] = [h for h in hits if str(h.text) == "Open Alliance Brave Arrow"]
        hit.command()
        await pilot.pause()
        assert getattr(app.screen, "entry_key", None) == ("alliance", "Brave Arrow")


async def test_palette_opens_screen_from_keys(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"help")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def until(pilot: Any, condition: Any, limit: float = 5.0) -> None:
    """Pause the pilot until ``condition()`` is true; fail after ``limit`` seconds."""
    for _ in range(int(limit / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"condition not reached in {limit} s")


async def test_palette_screenshot_saves_under_state_dir(settings: Settings) -> None:
    app = EvedmvApp(settings)
    folder = settings.state_dir / "screenshots"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"screenshot")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: any(folder.glob("*.svg")))
        [saved] = folder.glob("*.svg")
        assert "<svg" in saved.read_text(encoding="utf-8")
        await until(pilot, lambda: app._notifications)
        await pilot.pause(0.2)
        notes = [n for n in app._notifications if "screenshot" in n.message.lower()]
        assert len(notes) == 1, [n.message for n in notes]
        assert str(saved) in notes[0].message


async def test_screenshot_into_unwritable_place_says_so(
    settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    app = EvedmvApp(dataclasses.replace(settings, state_dir=blocker))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        assert app.deliver_screenshot() is None
        await pilot.pause()
        [note] = [n for n in app._notifications if n.title == "Screenshot"]
        assert note.severity == "error"
        assert str(blocker / "screenshots") in note.message
        assert "EVEDMV_STATE_DIR" in note.message


async def test_notifications_leave_status_bar_visible(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_connected(app, pilot)
        app.notify("a long notification " * 3, title="Test", severity="error")
        await until(pilot, lambda: len(app.screen.query(Toast)) > 0)
        await pilot.pause()
        bar = app.screen.query_one(StatusBar).region
        toasts = list(app.screen.query(Toast))
        assert toasts
        for toast in toasts:
            assert toast.region.bottom <= bar.y


async def test_alert_count_from_another_thread(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    # Without a monitor, no poll's alert count can overwrite the one set here.
    monkeypatch.setattr(
        "evedmv_tui.screens.performance.start_monitor", lambda app, settings: None
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        thread = threading.Thread(target=app.set_alert_count, args=(2, "warning"))
        thread.start()
        while thread.is_alive():
            await pilot.pause(0.01)
        await pilot.pause()
        assert static_text(app, "#status-alerts") == "2 alerts, worst warning"
        thread = threading.Thread(
            target=app.set_alert_count, args=(2, "warning", None, 1)
        )
        thread.start()
        while thread.is_alive():
            await pilot.pause(0.01)
        await pilot.pause()
        assert (
            static_text(app, "#status-alerts")
            == "2 alerts, 1 acknowledged, worst warning"
        )
        with pytest.raises(ValueError, match="must satisfy"):
            app.set_alert_count(-1)
        with pytest.raises(ValueError, match="must satisfy"):
            app.set_alert_count(1, acknowledged=2)


async def test_worker_errors_become_notifications(settings: Settings) -> None:
    """A failing query must show its title and hint, never exit the app."""
    from evedmv_tui.errors import EvedmvError

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)

        def fail(db: object) -> None:
            raise EvedmvError("import failed", "bad file x.json", "fix the file")

        def crash(db: object) -> None:
            raise KeyError("secret-local")

        screen = app.screen
        assert isinstance(screen, HomeScreen)
        screen.run_query(fail, then=lambda _: None, name="test", group="a")
        screen.run_query(crash, then=lambda _: None, name="test", group="b")
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        notes = list(app._notifications)
        titles = [note.title for note in notes]
        assert "import failed" in titles
        assert "Unexpected error" in titles
        failed = next(note for note in notes if note.title == "import failed")
        assert "hint: fix the file" in failed.message
        assert app.is_running


async def test_failure_showing_result_is_reported(settings: Settings) -> None:
    """An error raised while a screen shows a query's result is reported like
    a failed query, instead of leaving the screen blank without a word."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)

        def show(result: int) -> None:
            raise ValueError(f"cannot show {result}")

        screen = app.screen
        assert isinstance(screen, HomeScreen)
        screen.run_query(lambda db: 7, then=show, name="test", group="a")
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n for n in app._notifications if n.title == "Unexpected error"]
        assert len(notes) == 1
        assert "ValueError: cannot show 7" in notes[0].message
        assert app.is_running


async def test_superseded_query_result_dropped(settings: Settings) -> None:
    """A newer load cancels an older one of the same group, but the older
    thread ran on, and its result replaced the newer one when it came last.
    The search screen then showed the hits of a shorter text typed before."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        release = threading.Event()
        delivered: list[str] = []

        started = threading.Event()

        def older(db: object) -> str:
            started.set()
            release.wait(10)
            return "older"

        def newer(db: object) -> str:
            return "newer"

        screen = app.screen
        assert isinstance(screen, HomeScreen)
        first = screen.run_query(older, then=delivered.append, name="test", group="x")
        while not started.is_set():
            await pilot.pause(0.01)
        second = screen.run_query(newer, then=delivered.append, name="test", group="x")
        await second.wait()
        await pilot.pause()
        release.set()
        with contextlib.suppress(WorkerCancelled):
            await first.wait()
        # The older thread calls back after its worker was cancelled. Before
        # the fix that took well under a second, so 2 s is enough to see it.
        deadline = time.monotonic() + 2
        while len(delivered) < 2 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert first.is_cancelled
        assert delivered == ["newer"]


def test_registry_keys_are_unique_and_free() -> None:
    from evedmv_tui.screens import SCREENS

    keys = [entry.key for entry in SCREENS if entry.key]
    assert len(keys) == len(set(keys))
    global_keys = {"q", "question_mark", "ctrl+r", "ctrl+p", "escape"}
    assert not global_keys & set(keys)
    names = [entry.name for entry in SCREENS]
    assert len(names) == len(set(names))
    for entry in SCREENS:
        assert entry.resolve() is not None, entry.target


def test_keys_doc_lists_every_binding() -> None:
    from evedmv_tui.screens import SCREENS
    from evedmv_tui.screens.home import HomeScreen
    from evedmv_tui.screens.killmail import KillmailScreen

    text = (Path(__file__).parents[1] / "docs" / "keys.md").read_text()
    for binding in EvedmvApp.BINDINGS:
        assert isinstance(binding, Binding)
        assert f"`{binding.key_display or binding.key}`" in text, binding
    for entry in SCREENS:
        if entry.key:
            assert f"`{entry.key}`" in text, entry.name
    for screen in (HomeScreen, KillmailScreen):
        for binding in screen.BINDINGS:
            assert isinstance(binding, Binding)
            assert f"`{binding.key}`" in text, binding


def test_domain_packages_import_without_textual() -> None:
    """Importing the domain packages must not load textual (a fresh interpreter)."""
    import subprocess
    import sys

    packages = [
        "evedmv_tui.ingest",
        "evedmv_tui.battles",
        "evedmv_tui.intel",
        "evedmv_tui.monitor",
        "evedmv_tui.store",
        "evedmv_tui.names",
        "evedmv_tui.esi",
        "evedmv_tui.sde",
        "evedmv_tui.generate",
        "evedmv_tui.queries.killmail",
        "evedmv_tui.queries.overview",
    ]
    script = (
        "import importlib, importlib.util, pkgutil, sys\n"
        f"for name in {packages!r}:\n"
        "    if importlib.util.find_spec(name) is None:\n"
        "        print('absent', name); continue\n"
        "    module = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(getattr(module, '__path__', []),"
        " name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print('textual' in sys.modules, 'rich' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[0] == "False", result.stdout


async def test_connection_message_clears_on_reconnect(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure caused by the lost connection must not outlive the outage.

    The message used to name the screen's class and to stay on every screen
    after the dashboard had reconnected.
    """
    from evedmv_tui import app as app_module

    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("b")
        await wait_connected(app, pilot)
        screen = app.screen
        assert screen.title == "Battles"
        db = app.db
        assert db is not None
        app.connection_lost(db, "server closed the connection unexpectedly")
        await pilot.pause()
        assert app.db is None
        await pilot.press("r")
        with contextlib.suppress(WorkerFailed):
            await screen.workers.wait_for_complete()
        await pilot.pause()
        message = app.status.message
        assert message.startswith("Battles: not connected")
        assert "BattlesScreen" not in message
        part = app.screen.query_one("#status-message", Static)
        line = part.render_line(0).text.strip()
        assert line.startswith("WARNING: Battles: not connected")
        # The cut message ends with the key that shows it in full.
        assert line.endswith(CUT_SUFFIX)

        app.action_reconnect()
        for _ in range(200):
            if app.db is not None:
                break
            await pilot.pause(0.05)
        await wait_connected(app, pilot)
        assert app.status.connection.phase == "connected"
        assert app.status.message == ""
        assert part.render_line(0).text.strip() == ""


async def test_reconnect_keeps_unrelated_message(settings: Settings) -> None:
    """Reconnecting clears only the message that the lost connection set."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        db = app.db
        assert db is not None
        app.connection_lost(db, "server closed the connection unexpectedly")
        await pilot.pause()
        app.report_failure(
            unavailable_error("not connected", "connection lost"), "HomeScreen"
        )
        assert app.status.message.startswith("Home: not connected")
        app.set_status("baselines kept in memory", "warning")
        app.action_reconnect()
        for _ in range(200):
            if app.db is not None:
                break
            await pilot.pause(0.05)
        await wait_connected(app, pilot)
        assert app.status.message == "baselines kept in memory"


async def test_query_failure_names_the_screen_title(settings: Settings) -> None:
    """A failed query's notification began with the worker's class name."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        app.report_failure(
            psycopg.errors.InsufficientPrivilege("permission denied for table x"),
            "HomeScreen",
        )
        app.report_failure(ZeroDivisionError("division by zero"), "HomeScreen")
        app.report_failure(
            psycopg.errors.InsufficientPrivilege("must be owner of table y"),
            "HomeScreen",
        )
        await pilot.pause()
        messages = [note.message for note in app._notifications]
        assert messages[0].startswith(
            "Home: role evedmv lacks a privilege on table x\nhint: "
        )
        assert messages[2] == (
            "Home: role evedmv does not own table y, and only its owner may"
            " change its definition\nhint: open the dashboard as the role that"
            " owns the evedmv tables"
        )
        assert messages[1].startswith("Home: ZeroDivisionError: division by zero")
        assert not any("HomeScreen" in message for message in messages)


def unavailable_error(title: str, message: str) -> Exception:
    from evedmv_tui.errors import DatabaseUnavailable

    return DatabaseUnavailable(title, message)


def test_help_lists_each_action_once(settings: Settings) -> None:
    from evedmv_tui.screens.help import describe_bindings

    app = EvedmvApp(settings)
    bindings = [
        Binding("plus", "faster", "Faster", key_display="+"),
        Binding("equals_sign", "faster", "Faster", key_display="+"),
        Binding("ctrl+c", "copy", "Copy selected text"),
        Binding("super+c", "copy", "Copy selected text"),
        Binding("r", "reload", "Reload"),
        Binding("f5", "reload", ""),
    ]
    lines = [line.strip() for line in describe_bindings(app, bindings)]
    assert lines[0] == "+  Faster"
    assert lines[1].endswith("  Copy selected text")
    assert "/" in lines[1].split()[0]
    assert lines[2] == "r  Reload"
    assert len(lines) == 3


ARGUMENTS = {"id": 1, "text": "1"}
"""An argument of each kind for screens that take one; no row has that id."""


async def test_each_screen_loads_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a screen must start its queries once.

    Textual runs the ``on_mount`` of each class in a screen's MRO, so a
    subclass that also called ``super().on_mount()`` loaded twice.
    """
    loads: dict[str, int] = {}
    app = EvedmvApp(settings)
    opened = [entry for entry in app.screen_entries if entry.name != "home"]
    for entry in opened:
        screen_class = entry.resolve()
        original = screen_class.load_data  # type: ignore[attr-defined]

        def counting(
            self: Any, original: Any = original, name: str = entry.name
        ) -> None:
            loads[name] = loads.get(name, 0) + 1
            original(self)

        monkeypatch.setattr(screen_class, "load_data", counting)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        for entry in opened:
            argument = ARGUMENTS[entry.argument] if entry.prompt else None
            app.open_screen(entry.name, argument)
            await pilot.pause()
            await app.screen.workers.wait_for_complete()
            await pilot.pause()
            assert getattr(app.screen, "entry_key", None) == (entry.name, argument)
            assert loads.get(entry.name) == 1, entry.name
            await app.pop_screen()
    assert len(loads) == len(opened)


async def test_home_reloads_when_shown_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Returning to Home shows current figures, without a second load at start."""
    loads: list[int] = []
    original = HomeScreen.load_data

    def counting(self: HomeScreen) -> None:
        loads.append(1)
        original(self)

    monkeypatch.setattr(HomeScreen, "load_data", counting)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        assert len(loads) == 1
        app.open_screen("battles")
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await app.pop_screen()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert len(loads) == 2


def test_declared_bindings_include_inherited_keys() -> None:
    """A key bound by a base class is listed for its subclass, and the
    subclass's own binding of a key replaces the base's."""

    class Base(Screen[None]):
        BINDINGS: ClassVar[list[BindingType]] = [
            ("m", "move", "Move"),
            ("x", "export", "Export"),
        ]

    class Child(Base):
        BINDINGS: ClassVar[list[BindingType]] = [("x", "export_json", "Export JSON")]

    bindings = {b.key: b.action for b in declared_bindings(Child)}
    assert bindings["m"] == "move"
    assert bindings["x"] == "export_json"
    assert {b.key: b.action for b in declared_bindings(Base)}["x"] == "export"


async def test_home_list_focused_after_return(settings: Settings) -> None:
    """Back on Home, the Go to list has the focus, even when the screen had
    lost it, so Down and Enter open the next screen."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        destinations = home.query_one("#destinations", OptionList)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is not home
        home.set_focus(None)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is home
        assert home.focused is destinations
        highlighted = destinations.highlighted
        await pilot.press("down")
        assert destinations.highlighted == (highlighted or 0) + 1


async def test_closed_screens_leave_no_widgets(settings: Settings) -> None:
    """A closed screen's header, status bar, plot and old footer keys were
    kept by the watchers and theme subscriptions they left behind, about
    1 MB for each battle report opened."""
    import gc

    from textual.app import ComposeResult
    from textual.widget import Widget
    from textual.widgets import Header

    from evedmv_tui.screens import DashboardScreen
    from evedmv_tui.widgets.plot import SeriesPlot

    class PlotScreen(DashboardScreen):
        def compose_body(self) -> ComposeResult:
            plot = SeriesPlot("kills")
            plot.set_series("side 1", [(0, 1), (1, 2)])
            yield plot

    kinds = (FooterKey, Header, StatusBar, SeriesPlot)

    def closed(before: set[int]) -> dict[str, int]:
        """Count the closed widgets that were not there ``before``."""
        gc.collect()
        found: dict[str, int] = {}
        for item in gc.get_objects():
            closed_widget = isinstance(item, Widget) and not item.is_attached
            if isinstance(item, kinds) and closed_widget and id(item) not in before:
                name = type(item).__name__
                found[name] = found.get(name, 0) + 1
        return found

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        gc.collect()
        before = {id(item) for item in gc.get_objects() if isinstance(item, kinds)}
        for _ in range(4):
            await app.push_screen(PlotScreen())
            await pilot.pause()
            app.pop_screen()
            await pilot.pause()
        await pilot.pause()
        assert closed(before) == {}


async def test_palette_omits_keys_panel(
    settings: Settings,
) -> None:
    """Textual's Keys panel squeezed the 80-column screens and ignored Escape."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Keys" not in titles
        assert "Help" in titles
        assert "Quit" in titles


async def test_denied_query_names_table_and_grants(
    settings: Settings, db_url: str
) -> None:
    """A statement the dashboard's role may not run showed 'Query failed' with
    the server's message alone, without the role or a hint that helps."""
    grant = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"
    with login_role(db_url, "reader", grant) as reader:
        role = str(psycopg.conninfo.conninfo_to_dict(reader)["user"])
        app = EvedmvApp(dataclasses.replace(settings, dsn=reader))
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await wait_connected(app, pilot)

            def clear(db: Any) -> None:
                db.execute("DELETE FROM battle_side_overrides")

            screen = app.screen
            assert isinstance(screen, HomeScreen)
            screen.run_query(clear, then=lambda _: None, name="test", group="a")
            with contextlib.suppress(WorkerFailed):
                await app.workers.wait_for_complete()
            await pilot.pause()
            notes = [n for n in app._notifications if n.title == "permission denied"]
            assert len(notes) == 1, [n.title for n in app._notifications]
            message, hint = notes[0].message.split("\nhint: ")
            assert message.endswith(
                f"role {role} lacks a privilege on table battle_side_overrides"
            )
            assert hint.startswith(
                "open the dashboard as the role that owns the evedmv tables,"
                " or as that role run: GRANT "
            )
            assert app.is_running

        statements = re.search(r"run: (GRANT .+?)\. ", hint)
        assert statements is not None, hint
        with psycopg.connect(db_url, autocommit=True) as conn:
            for statement in statements[1].split("; "):
                conn.execute(statement.encode())
        with psycopg.connect(reader, autocommit=True) as conn:
            conn.execute("DELETE FROM battle_side_overrides")
