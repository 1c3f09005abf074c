"""Corporation, alliance and character pages, search and watch profiles.

Everything here runs SQL aggregation through :class:`~evedmv_tui.store.db.Database`
and returns frozen records; nothing imports Textual.
"""
