"""Open the dashboard (``evedmv`` with no command)."""

from __future__ import annotations

import logging

from evedmv_tui.config import Settings
from evedmv_tui.logfile import warnings_held


def run_dashboard(settings: Settings) -> int:
    """Run the Textual dashboard until the user quits; return the exit status.

    Raises:
        EvedmvError: the first database connection failed; the caller prints
            it on stderr and exits with its status.
    """
    from evedmv_tui.app import EvedmvApp

    app = EvedmvApp(settings)
    with warnings_held(logging.getLogger("evedmv_tui")):
        app.run(mouse=settings.mouse)
    if app.startup_error is not None:
        raise app.startup_error
    return app.return_code or 0
