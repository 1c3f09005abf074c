"""evedmv-tui: a terminal dashboard for EVE Online killmail intelligence."""

__version__ = "0.1.0"
