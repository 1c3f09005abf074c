"""Batch name resolution for characters, corporations, alliances and factions.

:meth:`NameResolver.resolve` takes every id a page or an import batch needs
and looks them up in three tiers. Each tier is asked once, for all the ids
that the tier before it missed: the in-process
:class:`~evedmv_tui.cache.LRUCache`, then one query on the ``names`` table,
then ESI ``POST /universe/names/`` in requests of at most 1000 ids. Names
fetched from ESI are written back to ``names`` in one statement, with the
time they were fetched.

The cache and the table are searched for every positive id, because the
``names`` table also holds names that came from elsewhere: the generator
names its made-up characters, corporations and alliances, whose ids lie
past 2^31 so that they never meet a real one. Only ESI is limited to the
ids it can resolve (:func:`is_resolvable`). Names that did not come from
ESI are stored with :data:`NOT_FETCHED` as their fetch time.

ESI rejects a whole request with 404 when any id in it is invalid, so a
rejected request is split in halves and each half retried until the invalid
ids stand alone. Those ids are remembered for the life of the process and
never sent again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Collection, Iterable, Sequence
from typing import TypeGuard

from evedmv_tui.cache import LRUCache
from evedmv_tui.esi import (
    NAMES_MAX_IDS,
    EsiClient,
    EsiError,
    EsiNotFound,
    UniverseName,
)
from evedmv_tui.store.db import Database, NamedSql
from evedmv_tui.store.telemetry import operation

log = logging.getLogger(__name__)

# Id ranges that ``/universe/names/`` resolves to a character, corporation,
# alliance or faction, inclusive, from the ID ranges page of the EVE
# developer documentation. Everything else is an item, a place, a structure
# (ids from 10^12) or out of the endpoint's int32 range, and ESI would
# reject the whole request for it.
RESOLVABLE_RANGES: tuple[tuple[int, int], ...] = (
    (500_000, 599_999),  # factions
    (1_000_000, 1_999_999),  # NPC corporations
    (3_000_000, 3_999_999),  # NPC characters
    (90_000_000, 2_147_483_647),  # player characters, corporations, alliances
)
BIGINT_MAX = 2**63 - 1
"""Largest id the ``names`` table stores."""
NOT_FETCHED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""``fetched_at`` of a stored name that did not come from ESI.

The column cannot be NULL, so this fixed, long-past time marks such a
name. A resolver with ``max_age`` therefore requests it from ESI whenever
ESI can resolve the id, and keeps it for ids ESI cannot resolve.
"""

_LOOKUP = NamedSql(
    "names.lookup",
    "SELECT entity_id, category, name, fetched_at FROM names"
    " WHERE entity_id = ANY(%s::bigint[])",
)
_STORE = NamedSql(
    "names.store",
    "INSERT INTO names (entity_id, category, name, fetched_at)"
    " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[])"
    " ON CONFLICT (entity_id) DO UPDATE SET category = EXCLUDED.category,"
    " name = EXCLUDED.name, fetched_at = EXCLUDED.fetched_at",
)
_ANY_STORED = NamedSql(
    "names.any_stored",
    "SELECT EXISTS (SELECT 1 FROM names WHERE category = ANY(%s::text[]))",
)
OFFLINE_SETTINGS = "--offline, EVEDMV_OFFLINE=1 or offline = true in config.toml"
"""The ways to turn on offline mode, in which no name is requested from ESI."""


@dataclasses.dataclass(frozen=True, slots=True)
class EntityName:
    """A resolved name and when it was fetched from ESI.

    ``fetched_at`` is :data:`NOT_FETCHED` for a name from elsewhere.
    """

    entity_id: int
    category: str
    """``character``, ``corporation``, ``alliance`` or ``faction``."""
    name: str
    fetched_at: dt.datetime


# NOTE: names are the same in every database, so the shared caches are not
# keyed by database; a process that switches databases keeps its names.
NAME_CACHE: LRUCache[int, EntityName] = LRUCache("names", 200_000)
"""The process-wide cache of resolved names."""
UNRESOLVABLE_IDS: LRUCache[int, bool] = LRUCache("names.unresolvable", 50_000)
"""Ids ESI rejected, so they are not sent again in this process."""


def unnamed(entity_id: int) -> str:
    """Return how an entity without a known name is shown: ``#id``.

    The mark sets an id shown in place of a name apart from counts and values.
    """
    return f"#{entity_id}"


def has_stored_names(db: Database, categories: Collection[str]) -> bool:
    """Return whether ``names`` contains a name of any of ``categories``."""
    return bool(db.fetch_value(_ANY_STORED, (list(categories),)))


def unresolved_names_hint(command: str, *, offline: bool) -> str:
    """Return where names come from and how to have them stored.

    Killmails carry ids only, so a name is found by name only after ESI
    resolved it. ``command`` is a command that resolves names, such as
    ``evedmv alliance show ID``: it requests the names its page shows and
    stores them. The text has no closing period, as an error hint.
    """
    if offline:
        return (
            "Killmails carry only ids, and names come from ESI, which offline"
            f" mode ({OFFLINE_SETTINGS}) never asks. Give the numeric id, or run"
            f" '{command}' without offline mode to store the names its page shows"
        )
    return (
        "Killmails carry only ids, and names come from ESI: when ESI is"
        f" reachable, '{command}' stores the names its page shows. Give the"
        " numeric id, or run that command first"
    )


def is_entity_id(entity_id: object) -> TypeGuard[int]:
    """Return whether ``entity_id`` can have a row in ``names``: a positive bigint."""
    return type(entity_id) is int and 0 < entity_id <= BIGINT_MAX


def is_resolvable(entity_id: object) -> TypeGuard[int]:
    """Return whether ``/universe/names/`` can take ``entity_id``.

    None, 0, negative numbers, structure ids, ids past 2^31 and ids of
    items, systems and other places are not resolvable.
    """
    if type(entity_id) is not int:
        return False
    return any(low <= entity_id <= high for low, high in RESOLVABLE_RANGES)


class NameResolver:
    """Batch name lookup through the cache, the ``names`` table and ESI.

    Args:
        db: the application database.
        client: ESI client; None resolves from the cache and database only.
        max_age: names fetched longer ago than this are fetched again.
        cache: in-process cache; the default, :data:`NAME_CACHE`, is shared
            by every resolver of the process, so a resolver made per call
            still finds what others loaded.
        unresolvable: ids ESI rejected; shared by default, like ``cache``.
    """

    def __init__(
        self,
        db: Database,
        client: EsiClient | None,
        *,
        max_age: dt.timedelta | None = None,
        cache: LRUCache[int, EntityName] | None = None,
        unresolvable: LRUCache[int, bool] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.max_age = max_age
        self.cache = NAME_CACHE if cache is None else cache
        self.unresolvable = UNRESOLVABLE_IDS if unresolvable is None else unresolvable
        self.last_error: EsiError | None = None
        """The error that ended the latest ESI lookup early, or None."""

    def resolve(self, ids: Iterable[int | None]) -> dict[int, EntityName]:
        """Return the names of ``ids`` that resolve, keyed by id.

        Every positive id is looked up in the cache and the ``names`` table.
        Of the ids found in neither, only those ESI can resolve (see
        :func:`is_resolvable`) and has not rejected are requested from ESI.
        A name older than ``max_age`` is requested again when ESI can
        resolve its id, and kept when the request fails or there is no
        client. Ids without a name anywhere are absent from the result.
        When ESI fails, the names found so far are returned and the error
        is kept in :attr:`last_error`.

        A cache miss counts only when the table or ESI then finds the name,
        so the cache could have contained it. An id that no tier can name,
        such as any id not stored while offline, misses every time a page
        shows it. No cache can avoid that miss, so it does not lower the
        names cache hit ratio, which the regression alerts judge.
        """
        requested = sorted({i for i in ids if is_entity_id(i)})
        if not requested:
            return {}
        cached, missing = self.cache.get_many(requested, counted=False)
        hits = len(cached)
        found = self._resolve_missing(cached, missing)
        named = sum(1 for entity_id in missing if entity_id in found)
        self.cache.count_lookups(hits, named)
        return found

    def _resolve_missing(
        self, found: dict[int, EntityName], missing: list[int]
    ) -> dict[int, EntityName]:
        """Look up ``missing`` in the table and ESI and add their names to
        ``found``, the cached names, which it returns.

        Cached names older than ``max_age`` are requested again.
        """
        outdated = self._outdated(found)
        for entity_id in outdated:
            del found[entity_id]
        missing = sorted([*missing, *outdated])
        if not missing:
            return found
        with operation("names.resolve"):
            stored = self._load(missing)
        for entity_id in self._outdated(stored):
            outdated[entity_id] = stored.pop(entity_id)
        self.cache.put_many(stored.items())
        found.update(stored)
        missing = [i for i in missing if i not in stored and is_resolvable(i)]
        # Without a client (offline) nothing is requested, so the ids that
        # ESI rejected are not looked up either.
        if missing and self.client is not None:
            known_bad, _ = self.unresolvable.get_many(missing)
            missing = [i for i in missing if i not in known_bad]
            fetched = self._fetch(self.client, missing) if missing else {}
            if fetched:
                with operation("names.resolve"):
                    self._store(fetched.values())
                self.cache.put_many(fetched.items())
                found.update(fetched)
        for entity_id, entry in outdated.items():
            found.setdefault(entity_id, entry)
        return found

    def name_of(self, entity_id: int | None) -> str | None:
        """Return one name, or None; prefer :meth:`resolve` for many ids."""
        if entity_id is None:
            return None
        entry = self.resolve([entity_id]).get(entity_id)
        return entry.name if entry else None

    def _outdated(self, entries: dict[int, EntityName]) -> dict[int, EntityName]:
        """Return the entries older than ``max_age`` that ESI could refresh."""
        if self.max_age is None or self.client is None:
            return {}
        oldest = dt.datetime.now(dt.UTC) - self.max_age
        return {
            entity_id: entry
            for entity_id, entry in entries.items()
            if entry.fetched_at < oldest and is_resolvable(entity_id)
        }

    def _load(self, ids: Sequence[int]) -> dict[int, EntityName]:
        rows = self.db.fetch_all(_LOOKUP, (list(ids),), row=EntityName)
        return {row.entity_id: row for row in rows}

    def _store(self, names: Iterable[EntityName]) -> None:
        rows = list(names)
        self.db.execute(
            _STORE,
            (
                [r.entity_id for r in rows],
                [r.category for r in rows],
                [r.name for r in rows],
                [r.fetched_at for r in rows],
            ),
        )

    def _fetch(self, client: EsiClient, ids: Sequence[int]) -> dict[int, EntityName]:
        found: dict[int, EntityName] = {}
        self.last_error = None
        try:
            for start in range(0, len(ids), NAMES_MAX_IDS):
                self._fetch_chunk(client, ids[start : start + NAMES_MAX_IDS], found)
        except EsiError as exc:
            self.last_error = exc
            log.warning(
                "name lookup stopped after %d of %d ids: %s",
                len(found),
                len(ids),
                exc.message,
            )
        return found

    def _fetch_chunk(
        self, client: EsiClient, ids: Sequence[int], found: dict[int, EntityName]
    ) -> None:
        # Splitting costs about 2 * log2(len(ids)) extra requests per invalid
        # id, which beats one request per id for the usual single bad id.
        pending: list[Sequence[int]] = [ids]
        while pending:
            chunk = pending.pop()
            try:
                rows = client.universe_names(chunk)
            except EsiNotFound:
                if len(chunk) == 1:
                    log.info("ESI rejected id %d; it is not requested again", chunk[0])
                    self.unresolvable.put(chunk[0], True)
                    continue
                middle = len(chunk) // 2
                pending.extend((chunk[middle:], chunk[:middle]))
                continue
            fetched_at = dt.datetime.now(dt.UTC)
            for row in rows:
                found[row.id] = _entity(row, fetched_at)


def _entity(row: UniverseName, fetched_at: dt.datetime) -> EntityName:
    return EntityName(row.id, row.category, row.name, fetched_at)
