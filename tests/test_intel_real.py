"""Entity pages on a real EVE Ref archive, checked against independent SQL.

One database per module contains the killmails of 2021-12-03 (4,158 killmails),
the static data the page joins (systems, regions, types, groups), the ESI
prices that give the killmails their ISK values, and the detected battles.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from evedmv_tui.battles.detect import detect_all
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import EntityKind, EntityRef, Period, find_entities
from evedmv_tui.intel.pages import EntityPage, load_page
from evedmv_tui.prices import import_prices
from evedmv_tui.sde import import_sde
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry, count_statements
from tests.conftest import _create_database, _drop_database, shared_file

ARCHIVE = "killmails/everef/killmails-2021-12-03.tar.bz2"
PRICES = "prices/esi_markets_prices_2025-05-13.json"


@contextlib.contextmanager
def real_database(cluster: PrivateCluster) -> Iterator[tuple[Database, str]]:
    """Yield a database with the archive, static data and prices, and its URL."""
    name = _create_database(cluster)
    url = cluster.url(name)
    database = Database(url, telemetry=Telemetry())
    try:
        import_sde(database, shared_file("sde"))
        # The totals hook counts each batch as a real import does; the price
        # import then revalues counted killmails through the value trigger.
        import_paths(
            database,
            [shared_file(ARCHIVE)],
            offline=True,
            workers=0,
            after_batch=[totals.on_batch],
        )
        import_prices(database, shared_file(PRICES))
        detect_all(database)
        database.execute("VACUUM ANALYZE")
        yield database, url
    finally:
        database.close()
        _drop_database(cluster, name)


@pytest.fixture(scope="module")
def real_db(pg_cluster: PrivateCluster) -> Iterator[Database]:
    with real_database(pg_cluster) as (database, _):
        yield database


def busiest(db: Database, column: str) -> int:
    value = db.fetch_value(
        f"SELECT {column} FROM attackers WHERE {column} IS NOT NULL"
        f" GROUP BY {column} ORDER BY count(DISTINCT killmail_id) DESC,"
        f" {column} LIMIT 1"
    )
    assert value is not None
    return int(value)


def _expected_summary(db: Database, kind: EntityKind, entity_id: int) -> dict[str, Any]:
    """Compute the all-time summary with SQL written apart from the page's."""
    attacker = kind.attacker_column
    victim = kind.victim_column
    row = db.fetch_one(
        f"""
        WITH kill_ids AS (
            SELECT killmail_id FROM killmails k
            WHERE EXISTS (SELECT 1 FROM attackers a
                          WHERE a.killmail_id = k.killmail_id
                            AND a.{attacker} = %(id)s)
        ),
        players AS (
            SELECT i.killmail_id,
                   (SELECT count(*) FROM attackers a
                    WHERE a.killmail_id = i.killmail_id
                      AND a.character_id IS NOT NULL) AS n
            FROM kill_ids i
        )
        SELECT
            (SELECT count(*) FROM kill_ids),
            (SELECT count(*) FROM killmails WHERE {victim} = %(id)s),
            (SELECT coalesce(sum(total_value), 0) FROM killmails
             WHERE killmail_id IN (SELECT killmail_id FROM kill_ids)),
            (SELECT coalesce(sum(total_value), 0) FROM killmails
             WHERE {victim} = %(id)s),
            (SELECT count(*) FROM players WHERE n = 1),
            (SELECT count(*) FROM players WHERE n > 1),
            (SELECT avg(n) FROM players WHERE n > 0)
        """,
        {"id": entity_id},
    )
    assert row is not None
    keys = ("kills", "losses", "destroyed", "lost", "solo", "gang", "gang_size")
    return dict(zip(keys, row, strict=True))


def _page(db: Database, kind: EntityKind, entity_id: int) -> EntityPage:
    return load_page(db, EntityRef(kind, entity_id, None), Period.ALL)


@pytest.mark.parametrize(
    "kind", [EntityKind.CORPORATION, EntityKind.ALLIANCE, EntityKind.CHARACTER]
)
def test_summary_matches_independent_sql(real_db: Database, kind: EntityKind) -> None:
    entity_id = busiest(real_db, kind.attacker_column)
    page = _page(real_db, kind, entity_id)
    expected = _expected_summary(real_db, kind, entity_id)
    s = page.summary
    assert s.kills == expected["kills"]
    assert s.kills > 0
    assert s.losses == expected["losses"]
    assert s.isk_destroyed == pytest.approx(expected["destroyed"])
    assert s.isk_lost == pytest.approx(expected["lost"])
    assert s.solo_kills == expected["solo"]
    assert s.gang_kills == expected["gang"]
    assert s.average_gang_size == pytest.approx(float(expected["gang_size"]))


def test_heatmap_matches_independent_sql(real_db: Database) -> None:
    corporation = busiest(real_db, "corporation_id")
    page = _page(real_db, EntityKind.CORPORATION, corporation)
    rows = real_db.fetch_all(
        """
        SELECT extract(isodow FROM killmail_time AT TIME ZONE 'UTC')::int,
               extract(hour FROM killmail_time AT TIME ZONE 'UTC')::int,
               count(*) FILTER (WHERE role = 'kill'),
               count(*) FILTER (WHERE role = 'loss')
        FROM (
            SELECT DISTINCT killmail_id, killmail_time, 'kill' AS role
            FROM attackers WHERE corporation_id = %(id)s
            UNION ALL
            SELECT killmail_id, killmail_time, 'loss'
            FROM killmails WHERE victim_corporation_id = %(id)s
        ) events
        GROUP BY 1, 2
        """,
        {"id": corporation},
    )
    expected = {(dow, hour): (kills, losses) for dow, hour, kills, losses in rows}
    shown = {(c.dow, c.hour): (c.kills, c.losses) for c in page.heatmap.cells}
    assert shown == expected
    grid = page.heatmap.grid()
    assert sum(map(sum, grid)) == page.summary.kills + page.summary.losses
    assert page.heatmap.timezone() is not None


def test_top_lists_match_independent_sql(real_db: Database) -> None:
    alliance = busiest(real_db, "alliance_id")
    page = _page(real_db, EntityKind.ALLIANCE, alliance)
    pilots = real_db.fetch_all(
        "SELECT character_id, count(DISTINCT killmail_id) FROM attackers"
        " WHERE alliance_id = %s AND character_id IS NOT NULL"
        " GROUP BY character_id ORDER BY 2 DESC, 1 LIMIT 10",
        (alliance,),
    )
    assert [(e.key, e.kills) for e in page.tops["pilots"]] == pilots
    # A killmail where the alliance is on both sides counts once as a kill
    # and once as a loss.
    systems = real_db.fetch_all(
        """
        SELECT solar_system_id,
               count(*) FILTER (WHERE victim_alliance_id = %(id)s)
               + count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM attackers a WHERE a.killmail_id = k.killmail_id
                   AND a.alliance_id = %(id)s))
        FROM killmails k
        GROUP BY 1 HAVING count(*) FILTER (WHERE victim_alliance_id = %(id)s
            OR EXISTS (SELECT 1 FROM attackers a WHERE a.killmail_id = k.killmail_id
                       AND a.alliance_id = %(id)s)) > 0
        ORDER BY 2 DESC, 1 LIMIT 10
        """,
        {"id": alliance},
    )
    shown = [(e.key, e.kills + e.losses) for e in page.tops["systems"]]
    assert shown == systems
    assert all(e.name and not e.name.isdigit() for e in page.tops["systems"])
    lost = real_db.fetch_all(
        "SELECT g.ship_class, count(*) FROM killmails k"
        " JOIN types t ON t.type_id = k.victim_ship_type_id"
        " JOIN groups g USING (group_id) WHERE k.victim_alliance_id = %s"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        (alliance,),
    )
    assert [(e.ship_class, e.losses) for e in page.tops["ships_lost"]] == lost
    against = real_db.fetch_one(
        "SELECT victim_alliance_id, count(*) FROM killmails k"
        " WHERE victim_alliance_id IS NOT NULL AND EXISTS (SELECT 1 FROM attackers a"
        " WHERE a.killmail_id = k.killmail_id AND a.alliance_id = %s)"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
        (alliance,),
    )
    assert against is not None
    kills_against = {e.key: e.kills for e in page.tops["against_alliances"]}
    assert kills_against[against[0]] == against[1]
    assert alliance not in {e.key for e in page.tops["with_alliances"]}


def test_page_runs_at_most_five_statements(real_db: Database) -> None:
    corporation = busiest(real_db, "corporation_id")
    for kind, entity_id in (
        (EntityKind.CORPORATION, corporation),
        (EntityKind.ALLIANCE, busiest(real_db, "alliance_id")),
        (EntityKind.CHARACTER, busiest(real_db, "character_id")),
    ):
        with count_statements(real_db.telemetry) as statements:
            page = _page(real_db, kind, entity_id)
        assert page.summary.kills > 0
        assert statements[0] <= 5, kind


def test_period_limits_the_summary(real_db: Database) -> None:
    corporation = busiest(real_db, "corporation_id")
    newest = real_db.fetch_value(
        "SELECT greatest((SELECT max(killmail_time) FROM attackers"
        " WHERE corporation_id = %(id)s), (SELECT max(killmail_time)"
        " FROM killmails WHERE victim_corporation_id = %(id)s))",
        {"id": corporation},
    )
    since = newest - dt.timedelta(days=7)
    everything = _page(real_db, EntityKind.CORPORATION, corporation)
    week = load_page(
        real_db, EntityRef(EntityKind.CORPORATION, corporation, None), Period.WEEK
    )
    assert week.until == newest
    assert week.since == since
    # The archive covers less than a day, so the week contains everything.
    assert week.summary == everything.summary


def test_corporation_only_seen_as_victim(real_db: Database) -> None:
    victim_only = real_db.fetch_value(
        "SELECT victim_corporation_id FROM killmails k"
        " WHERE NOT EXISTS (SELECT 1 FROM attackers a"
        " WHERE a.corporation_id = k.victim_corporation_id)"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    assert victim_only is not None
    page = _page(real_db, EntityKind.CORPORATION, victim_only)
    losses = real_db.fetch_value(
        "SELECT count(*) FROM killmails WHERE victim_corporation_id = %s",
        (victim_only,),
    )
    assert page.summary.kills == 0
    assert page.summary.losses == losses
    assert page.summary.isk_efficiency in (0.0, None)
    assert page.summary.danger_ratio == 0.0
    assert page.summary.solo_ratio is None
    assert page.tops["pilots"] == ()
    assert sum(e.losses for e in page.tops["ships_lost"]) == losses
    assert {item.role for item in page.recent} == {"loss"}


def test_npc_corporation_page(real_db: Database) -> None:
    npc = real_db.fetch_value(
        "SELECT corporation_id FROM attackers WHERE character_id IS NULL"
        " AND corporation_id BETWEEN 1000000 AND 1999999"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    assert npc is not None
    page = _page(real_db, EntityKind.CORPORATION, npc)
    expected = _expected_summary(real_db, EntityKind.CORPORATION, npc)
    assert page.summary.kills == expected["kills"]
    assert page.summary.kills > 0
    # NPC attackers have no character, so only player pilots appear.
    pilot_rows = real_db.fetch_value(
        "SELECT count(DISTINCT character_id) FROM attackers WHERE corporation_id = %s",
        (npc,),
    )
    assert len(page.tops["pilots"]) == min(10, pilot_rows)


def test_corporation_without_killmails(real_db: Database) -> None:
    real_db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (98999991, 'corporation', 'Quiet Holdings')"
        " ON CONFLICT DO NOTHING"
    )
    [found] = find_entities(real_db, EntityKind.CORPORATION, "quiet holdings")
    page = load_page(real_db, found, Period.ALL)
    assert page.entity.name == "Quiet Holdings"
    assert page.summary.kills == 0
    assert page.summary.losses == 0
    assert page.summary.isk_efficiency is None
    assert page.heatmap.timezone() is None
    assert page.latest_corporation is None


def test_character_without_corporation_history(real_db: Database) -> None:
    real_db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (2199999991, 'character', 'Nobody Special')"
        " ON CONFLICT DO NOTHING"
    )
    page = load_page(
        real_db, EntityRef(EntityKind.CHARACTER, 2199999991, None), Period.ALL
    )
    assert page.entity.name == "Nobody Special"
    assert page.latest_corporation is None
    assert page.latest_alliance is None
    assert page.summary.kills == 0


def test_character_latest_affiliation(real_db: Database) -> None:
    character = busiest(real_db, "character_id")
    expected = real_db.fetch_one(
        """
        SELECT corporation_id, alliance_id FROM (
            SELECT killmail_time, corporation_id, alliance_id
            FROM attackers WHERE character_id = %(id)s
            UNION ALL
            SELECT killmail_time, victim_corporation_id, victim_alliance_id
            FROM killmails WHERE victim_character_id = %(id)s
        ) seen ORDER BY killmail_time DESC LIMIT 1
        """,
        {"id": character},
    )
    assert expected is not None
    page = _page(real_db, EntityKind.CHARACTER, character)
    assert page.latest_corporation is not None
    assert page.latest_corporation.entity_id == expected[0]
    alliance = page.latest_alliance.entity_id if page.latest_alliance else None
    assert alliance == expected[1]
    assert page.tops["pilots"] == ()


def test_recent_killmails_are_newest(real_db: Database) -> None:
    corporation = busiest(real_db, "corporation_id")
    page = _page(real_db, EntityKind.CORPORATION, corporation)
    kills = [item for item in page.recent if item.role == "kill"]
    newest = real_db.fetch_all(
        "SELECT DISTINCT killmail_id, killmail_time FROM attackers"
        " WHERE corporation_id = %s ORDER BY killmail_time DESC, killmail_id DESC"
        " LIMIT 20",
        (corporation,),
    )
    assert [item.killmail_id for item in kills] == [row[0] for row in newest]
    assert all(item.solar_system_name for item in page.recent)


def test_json_output_has_the_figures(real_db: Database) -> None:
    corporation = busiest(real_db, "corporation_id")
    data = _page(real_db, EntityKind.CORPORATION, corporation).as_json()
    assert data["entity"]["id"] == corporation
    assert data["summary"]["kills"] > 0
    assert 0.0 <= data["summary"]["isk_efficiency"] <= 1.0
    assert set(data["tops"]) >= {"pilots", "systems", "regions", "ships_flown"}
    assert data["heatmap"]["timezone"]["label"] in {"EUTZ", "USTZ", "AUTZ"}


def test_battles_match_independent_sql(real_db: Database) -> None:
    corporation = busiest(real_db, "corporation_id")
    page = _page(real_db, EntityKind.CORPORATION, corporation)
    expected = real_db.fetch_all(
        """
        SELECT bk.battle_id, count(*) FROM battle_killmails bk
        JOIN battles b USING (battle_id)
        WHERE bk.killmail_id IN (
            SELECT killmail_id FROM attackers WHERE corporation_id = %(id)s
            UNION
            SELECT killmail_id FROM killmails WHERE victim_corporation_id = %(id)s)
        GROUP BY bk.battle_id, b.start_time
        ORDER BY b.start_time DESC, bk.battle_id DESC LIMIT 20
        """,
        {"id": corporation},
    )
    assert expected
    shown = [(b.battle_id, b.entity_killmails) for b in page.battles]
    assert shown == expected
    assert all(b.system_names for b in page.battles)


@pytest.mark.parametrize("kind", [EntityKind.CORPORATION, EntityKind.ALLIANCE])
def test_totals_page_equals_killmail_page(real_db: Database, kind: EntityKind) -> None:
    """The price import revalued counted killmails; the totals must follow."""
    revalued = real_db.fetch_value(
        "SELECT count(*) FROM killmails WHERE value_source = 'computed'"
    )
    assert revalued > 0
    entity = EntityRef(kind, busiest(real_db, kind.attacker_column), None)
    for period in Period:
        from_killmails = load_page(real_db, entity, period, from_totals=False)
        from_totals = load_page(real_db, entity, period)
        assert from_totals.as_json() == from_killmails.as_json(), period
