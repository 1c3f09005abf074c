"""Killmail ingest: sources, shape detection, the COPY writer and the live feed."""

IMPORT_LOCK_CLASS = 730_500_104
"""First key of the session advisory lock that a running file import holds.

The second key is the import's id modulo 2**31, so
``pg_advisory_lock(IMPORT_LOCK_CLASS, id)`` marks one import as alive. The
server releases it when the importer's connection ends, so an ``imports``
row without ``finished_at`` whose lock is free belongs to a dead import.
"""

FOLLOW_LOCK_CLASS = 730_500_105
"""First key of the session advisory lock that ``evedmv follow`` holds while
it reads a feed; the second key is ``hashtext`` of the feed's name. A second
follower of the same feed into the same database finds it taken and stops,
instead of fetching every document a second time."""
