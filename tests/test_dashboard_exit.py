"""Quitting the dashboard does not wait for thread workers still blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKED_APP = textwrap.dedent(
    """
    import sys
    import threading
    from pathlib import Path

    from textual import work
    from textual.app import App

    from evedmv_tui.commands.dashboard import run_app

    folder = Path(sys.argv[1])
    release = threading.Event()


    class Blocked(App[None]):
        def on_mount(self) -> None:
            self.block()

        @work(thread=True)
        def block(self) -> None:
            (folder / "started").touch()
            self.call_from_thread(self.exit)
            # A server that never responds: nothing releases the thread.
            release.wait(120)
            (folder / "finished").touch()


    run_app(Blocked(), headless=True)
    print("returned", flush=True)
    """
)


def test_quit_leaves_blocked_worker(tmp_path: Path) -> None:
    """A worker waiting on a server that did not respond held the quit until
    its timeout: the loop and then the interpreter joined its thread."""
    process = subprocess.run(
        [sys.executable, "-c", BLOCKED_APP, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert process.returncode == 0, process.stderr
    assert process.stdout == "returned\n"
    assert (tmp_path / "started").exists()
    assert not (tmp_path / "finished").exists()
