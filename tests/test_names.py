"""Batch name resolution: cache, one database query, then ESI in chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from evedmv_tui.cache import LRUCache
from evedmv_tui.esi import EsiClient
from evedmv_tui.names import (
    NAME_CACHE,
    NOT_FETCHED,
    EntityName,
    NameResolver,
    is_entity_id,
    is_resolvable,
)
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import count_statements
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, Reply, read_jsonl

USER_AGENT = "evedmv-tui tests (tests@example.invalid)"
CATEGORY_OF_FIELD = {
    "character_id": "character",
    "corporation_id": "corporation",
    "alliance_id": "alliance",
    "faction_id": "faction",
}


@pytest.fixture
def client(fake: FakeServer) -> Iterator[EsiClient]:
    with EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=lambda _: None) as esi:
        yield esi


def new_resolver(
    db: Database, client: EsiClient | None, max_age: dt.timedelta | None = None
) -> NameResolver:
    """A resolver with empty caches of its own, unlike the process-wide ones."""
    return NameResolver(
        db,
        client,
        max_age=max_age,
        cache=LRUCache("names.test", 200_000, register=False),
        unresolvable=LRUCache("names.test.unresolvable", 1000, register=False),
    )


def real_entities() -> dict[int, str]:
    """Entity ids and their categories from the real EVE Ref cluster samples."""
    found: dict[int, str] = {}
    path = shared_file("killmails/real/everef_cluster_samples.jsonl")
    for killmail in read_jsonl(path):
        for party in [killmail["victim"], *killmail["attackers"]]:
            for field, category in CATEGORY_OF_FIELD.items():
                if party.get(field):
                    found.setdefault(party[field], category)
    return found


def serve_entities(fake: FakeServer, count: int) -> list[int]:
    """Serve ``count`` resolvable ids: the real ones, then new character ids."""
    entities = real_entities()
    next_character = 2_120_000_000
    while len(entities) < count:
        entities.setdefault(next_character, "character")
        next_character += 1
    ids = sorted(entities)[:count]
    fake.add_names((i, entities[i], f"{entities[i]} {i}") for i in ids)
    return ids


def names_requests(fake: FakeServer) -> list[list[int]]:
    return [r.json() for r in fake.requests_to("POST", "/esi/universe/names/")]


def test_5000_ids_one_query_five_requests(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    ids = serve_entities(fake, 5000)
    resolver = new_resolver(db, client)

    with count_statements(db.telemetry) as statements:
        names = resolver.resolve(ids)

    assert len(names) == 5000
    assert names[ids[0]].name == fake.names[ids[0]][1]
    bodies = names_requests(fake)
    assert len(bodies) == 5
    assert all(len(body) <= 1000 for body in bodies)
    assert sorted(i for body in bodies for i in body) == ids
    # One query finds what the cache missed; one statement writes back
    # what ESI returned. Neither grows with the number of ids.
    assert statements[0] == 2
    recorded = [r.name for r in db.telemetry.records()]
    assert recorded.count("names.lookup") == 1
    assert recorded.count("names.store") == 1


def test_database_tier_is_one_query(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    ids = serve_entities(fake, 5000)
    new_resolver(db, client).resolve(ids)
    fake.clear_requests()

    fresh = new_resolver(db, client)
    with count_statements(db.telemetry) as statements:
        names = fresh.resolve(ids)

    assert statements[0] == 1
    assert fake.requests == []
    assert len(names) == 5000


def test_cache_tier_costs_nothing(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    ids = serve_entities(fake, 1200)
    resolver = new_resolver(db, client)
    first = resolver.resolve(ids)
    fake.clear_requests()

    with count_statements(db.telemetry) as statements:
        again = resolver.resolve(ids)

    assert again == first
    assert statements[0] == 0
    assert fake.requests == []
    assert resolver.cache.stats().hits == 1200


def test_invalid_ids_do_not_stop_others(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    ids = serve_entities(fake, 1000)
    # Two unknown ids that sort into the middle of the first 1000-id request.
    unknown = [ids[300] + 1, ids[700] + 1]
    assert not set(unknown) & set(ids)
    resolver = new_resolver(db, client)

    names = resolver.resolve(ids + unknown)

    assert set(names) == set(ids)
    assert not set(unknown) & set(names)
    requests = names_requests(fake)
    assert [unknown[0]] in requests
    assert [unknown[1]] in requests
    # Halving isolates each unknown id in about 2 * log2(1000) requests, far
    # fewer than one request per id: 2 full requests plus 2 * 2 * 10 splits.
    assert len(requests) <= 2 + 2 * 2 * 10
    stored = db.fetch_value("SELECT count(*) FROM names")
    assert stored == 1000


def test_rejected_ids_not_sent_again(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    fake.add_names([(500001, "faction", "Caldari State")])
    resolver = new_resolver(db, client)
    resolver.resolve([500001, 2_140_000_001])
    fake.clear_requests()

    names = resolver.resolve([500001, 2_140_000_001])

    assert set(names) == {500001}
    assert fake.requests == []


def test_unsendable_ids_never_sent(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    fake.add_names([(98600992, "corporation", "Real Corp")])
    structure = 1_035_466_617_946
    solar_system = 30_000_142
    ship_type = 670

    names = new_resolver(db, client).resolve(
        [None, 0, -1, structure, solar_system, ship_type, 2**31, 98600992]
    )

    assert set(names) == {98600992}
    assert names_requests(fake) == [[98600992]]


@pytest.mark.parametrize(
    ("entity_id", "expected"),
    [
        (None, False),
        (0, False),
        (-500001, False),
        (True, False),
        ("500001", False),
        (500_000, True),
        (599_999, True),
        (600_000, False),
        (1_000_001, True),
        (3_008_416, True),
        (30_000_142, False),
        (60_003_760, False),
        (98_600_992, True),
        (99_004_344, True),
        (2_147_483_647, True),
        (2_147_483_648, False),
        (1_035_466_617_946, False),
    ],
)
def test_is_resolvable(entity_id: object, expected: bool) -> None:
    assert is_resolvable(entity_id) is expected


def test_names_stored_with_fetch_time(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    fake.add_names([(99004344, "alliance", "Real Alliance")])
    before = dt.datetime.now(dt.UTC)

    new_resolver(db, client).resolve([99004344])

    row = db.fetch_one(
        "SELECT category, name, fetched_at FROM names WHERE entity_id = %s",
        (99004344,),
    )
    assert row is not None
    category, name, fetched_at = row
    assert (category, name) == ("alliance", "Real Alliance")
    assert before <= fetched_at <= dt.datetime.now(dt.UTC)


def test_stale_names_fetched_again(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    db.execute(
        "INSERT INTO names VALUES (%s, 'corporation', 'Old Name', %s)",
        (98600992, old),
    )
    fake.add_names([(98600992, "corporation", "New Name")])

    kept = new_resolver(db, client).resolve([98600992])
    refreshed = new_resolver(db, client, max_age=dt.timedelta(days=30)).resolve(
        [98600992]
    )

    assert kept[98600992] == EntityName(98600992, "corporation", "Old Name", old)
    assert refreshed[98600992].name == "New Name"
    assert refreshed[98600992].fetched_at > old
    stored = db.fetch_value("SELECT name FROM names WHERE entity_id = 98600992")
    assert stored == "New Name"


def test_esi_outage_keeps_known_names(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    db.execute("INSERT INTO names VALUES (500001, 'faction', 'Caldari State', now())")
    fake.queue("POST", "/esi/universe/names/", *[Reply.error(503, "down")] * 4)
    resolver = new_resolver(db, client)

    names = resolver.resolve([500001, 98600992])

    assert set(names) == {500001}
    assert resolver.last_error is not None
    assert "HTTP 503" in resolver.last_error.message


def test_offline_resolver_uses_database_only(db: Database) -> None:
    db.execute("INSERT INTO names VALUES (500001, 'faction', 'Caldari State', now())")
    resolver = new_resolver(db, None)

    assert resolver.name_of(500001) == "Caldari State"
    assert resolver.name_of(98600992) is None
    assert resolver.name_of(None) is None


def test_default_cache_is_shared(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    NAME_CACHE.clear()
    fake.add_names([(99004344, "alliance", "Real Alliance")])
    NameResolver(db, client).resolve([99004344])
    fake.clear_requests()

    with count_statements(db.telemetry) as statements:
        names = NameResolver(db, None).resolve([99004344])

    assert names[99004344].name == "Real Alliance"
    assert statements[0] == 0
    assert fake.requests == []
    NAME_CACHE.clear()


def test_stale_cached_name_fetched_again(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    resolver = new_resolver(db, client, max_age=dt.timedelta(days=30))
    resolver.cache.put(98600992, EntityName(98600992, "corporation", "Old", old))
    fake.add_names([(98600992, "corporation", "New Name")])

    names = resolver.resolve([98600992])

    assert names[98600992].name == "New Name"
    assert resolver.cache.get(98600992) == names[98600992]


def test_stored_names_past_int32_used(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    """Ids ESI cannot resolve still get the names the database stores."""
    large = 2**31 + 41
    structure = 1_035_466_617_946
    db.execute(
        "INSERT INTO names VALUES (%s, 'character', 'Made Up', now()),"
        " (%s, 'corporation', 'Stored Elsewhere', now())",
        (large, structure),
    )

    online = new_resolver(db, client).resolve([large, structure, 2**31 + 42])
    offline = new_resolver(db, None).resolve([large, structure])

    assert {i: e.name for i, e in online.items()} == {
        large: "Made Up",
        structure: "Stored Elsewhere",
    }
    assert set(offline) == {large, structure}
    assert fake.requests == []


def test_unfetched_names_requested_when_resolvable(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    """Names stored as not fetched are refreshed from ESI where it can resolve
    the id, and kept for ids past 2^31."""
    generated = 3_000_000_017
    db.execute(
        "INSERT INTO names VALUES (%s, 'corporation', 'Made Up Corp', %s),"
        " (1000125, 'corporation', 'CONCORD', %s)",
        (generated, NOT_FETCHED, NOT_FETCHED),
    )
    fake.add_names([(1000125, "corporation", "CONCORD")])
    resolver = new_resolver(db, client, max_age=dt.timedelta(days=30))

    names = resolver.resolve([generated, 1000125])

    assert names[generated].name == "Made Up Corp"
    assert names[generated].fetched_at == NOT_FETCHED
    assert names[1000125].name == "CONCORD"
    assert names[1000125].fetched_at > NOT_FETCHED
    assert len(fake.requests) == 1
    stored = db.fetch_value("SELECT fetched_at FROM names WHERE entity_id = 1000125")
    assert stored > NOT_FETCHED


def test_rejected_id_finds_later_stored_name(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    resolver = new_resolver(db, client)
    assert resolver.resolve([2_140_000_001]) == {}
    db.execute("INSERT INTO names VALUES (2140000001, 'character', 'Late', now())")
    fake.clear_requests()

    names = resolver.resolve([2_140_000_001])

    assert names[2_140_000_001].name == "Late"
    assert fake.requests == []


def test_outdated_names_kept_when_not_refreshed(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    """An old name stays when ESI cannot resolve its id or the request fails."""
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    large = 2**31 + 5
    db.execute(
        "INSERT INTO names VALUES (%s, 'character', 'Old Large', %s),"
        " (98600992, 'corporation', 'Old Corp', %s)",
        (large, old, old),
    )
    fake.queue("POST", "/esi/universe/names/", *[Reply.error(503, "down")] * 4)
    resolver = new_resolver(db, client, max_age=dt.timedelta(days=30))

    names = resolver.resolve([large, 98600992])

    assert names[large].name == "Old Large"
    assert names[98600992].name == "Old Corp"
    assert names_requests(fake) == [[98600992]] * 4
    assert resolver.last_error is not None


@pytest.mark.parametrize(
    ("entity_id", "expected"),
    [
        (None, False),
        (0, False),
        (-1, False),
        (True, False),
        ("5", False),
        (1, True),
        (2**31, True),
        (2**63 - 1, True),
        (2**63, False),
    ],
)
def test_is_entity_id(entity_id: object, expected: bool) -> None:
    assert is_entity_id(entity_id) is expected
