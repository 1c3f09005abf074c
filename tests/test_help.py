"""The tips of the help screen."""

from __future__ import annotations

import re

from evedmv_tui.screens.help import TIPS


def test_tips_name_no_concrete_ids() -> None:
    """A tip gave 'killmail 96812093' as an example, and that killmail is in
    no database the user has loaded, the demo data included."""
    for tip in TIPS:
        assert re.search(r"'[a-z]+ \d+'", tip) is None, tip
