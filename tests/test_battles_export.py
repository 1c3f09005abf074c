"""Markdown and Discord exports keep names literal and their structure whole."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from evedmv_tui.battles.export import (
    DISCORD_LIMIT,
    efficiency_text,
    render_discord,
    render_json,
    render_markdown,
    render_text,
)
from evedmv_tui.battles.report import BattleReport, EntityRow, KillRow

START = dt.datetime(2021, 11, 27, 18, 0, tzinfo=dt.UTC)
HOSTILE_NAMES = [
    "Goonswarm <b>Federation</b>",
    "*Stars* and _lines_ [link](http://x.invalid) ~~gone~~",
    "Pipe | Corp & <i>Co</i> \\ back`tick`",
    "```\nbreak out @everyone",
    "@here Ping Squad",
]


def side(number: int) -> dict[str, Any]:
    return {
        "side": number,
        "third_party": False,
        "pilots": 10,
        "ships_lost": 4,
        "isk_lost": 1e9,
        "isk_destroyed": 2e9,
        "efficiency": 0.5,
    }


def report_named(names: list[str]) -> BattleReport:
    """A report whose side ``n`` is named ``names[n - 1]``."""
    alliances = {99_000_001 + i: name for i, name in enumerate(names)}
    entities = tuple(
        EntityRow("alliance", alliance, None, i + 1, 1.0, 0.0, 1.0, "fought", False)
        for i, alliance in enumerate(alliances)
    )
    return BattleReport(
        battle_id=7,
        start_time=START,
        end_time=START + dt.timedelta(minutes=30),
        solar_system_ids=[30000142],
        region_ids=[10000002],
        kills=40,
        pilots=50,
        isk_destroyed=4e9,
        side_count=len(names),
        kind="brawl",
        confidence=0.9,
        unclear=False,
        changed=False,
        ongoing=False,
        metrics={"sides": [side(i + 1) for i in range(len(names))]},
        entities=entities,
        killmails=(),
        names=alliances,
        type_names={},
        system_names={30000142: "Jita"},
        region_names={10000002: "The Forge"},
    )


def markdown_table_cells(text: str) -> list[list[Token]]:
    """Parse GitHub-style Markdown and return each body row's cell inlines."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    rows: list[list[Token]] = []
    in_body = False
    for token in parser.parse(text):
        if token.type == "tbody_open":
            in_body = True
        elif token.type == "tr_open" and in_body:
            rows.append([])
        elif token.type == "inline" and in_body:
            rows[-1].append(token)
    return rows


def test_markdown_structure() -> None:
    text = render_markdown(report_named(["Alpha", "Beta"]))
    lines = text.splitlines()
    header = lines.index(
        "| Side | Name | Pilots | Ships lost | ISK lost | ISK destroyed | Efficiency |"
    )
    assert lines[header + 1] == "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    body = lines[header + 2 :]
    assert len(body) == 2
    assert all(line.startswith("| ") and line.endswith(" |") for line in body)
    rows = markdown_table_cells(text)
    assert [len(row) for row in rows] == [7, 7]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markdown_names_stay_literal(name: str) -> None:
    text = render_markdown(report_named([name, "Beta"]))
    rows = markdown_table_cells(text)
    assert len(rows) == 2
    cell = rows[0][1]
    assert cell.children is not None
    assert [child.type for child in cell.children] == ["text"]
    assert cell.children[0].content == " ".join(name.splitlines())


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_discord_names_stay_in_block(name: str) -> None:
    text = render_discord(report_named([name, "Beta"]))
    lines = text.splitlines()
    assert text.count("```") == 2
    opening = lines.index("```")
    assert lines[-1] == "```"
    assert opening == 2
    assert len(lines[opening + 1 : -1]) == 2
    assert "@everyone" not in text
    assert "@here" not in text


def test_discord_mentions_and_backticks_neutralised() -> None:
    text = render_discord(report_named(["@everyone `x`", "@here"]))
    block = text.splitlines()[3:-1]
    assert block[0].startswith("1 @\u200beveryone \u02cbx\u02cb ")
    assert block[1].startswith("2 @\u200bhere ")
    # A zero-width space takes no column, so the columns after the name align.
    widths = [len(row.replace("\u200b", "")) for row in block]
    assert widths[0] == widths[1]


def test_discord_long_report_keeps_block_closed() -> None:
    names = [f"Alliance number {i} with a long name" for i in range(200)]
    text = render_discord(report_named(names))
    lines = text.splitlines()
    assert len(text) <= DISCORD_LIMIT + 1
    assert text.count("```") == 2
    assert lines[-1] == "```"
    assert lines[-2].startswith("... and ")
    assert lines[-2].endswith(" more sides")
    shown = len(lines) - 5
    assert lines[-2] == f"... and {200 - shown} more sides"


def report_with_third_party() -> BattleReport:
    """Sides 1 and 2 are the principal sides and side 3 a third party.

    Side 3 destroyed ISK, but none of the principal sides' ships, so its
    efficiency is 0.
    """
    report = report_named(["Alpha", "Beta", "Gamma"])
    sides = [side(n) | {"ships_lost_by_class": {}} for n in (1, 2, 3)]
    sides[0]["opponents"] = [2]
    sides[1]["opponents"] = [1]
    sides[2] |= {"third_party": True, "opponents": [2, 1], "efficiency": 0.0}
    return dataclasses.replace(report, metrics={"sides": sides})


def test_efficiency_text_names_opponents() -> None:
    principal = side(1) | {"opponents": [2]}
    third = side(3) | {"third_party": True, "opponents": [2, 1], "efficiency": 0.0}
    assert efficiency_text(principal) == "50.0%"
    assert efficiency_text(third) == "0.0% against sides 1, 2"
    assert efficiency_text(third | {"opponents": [4]}) == "0.0% against side 4"
    assert efficiency_text(third | {"efficiency": None}) == "- against sides 1, 2"


def test_text_export_names_third_party_opponents() -> None:
    lines = render_text(report_with_third_party()).splitlines()
    efficiencies = [line for line in lines if "efficiency" in line]
    assert len(efficiencies) == 3
    assert efficiencies[0].endswith("efficiency 50.0%")
    assert efficiencies[1].endswith("efficiency 50.0%")
    assert efficiencies[2].endswith("efficiency 0.0% against sides 1, 2")


def test_markdown_export_names_third_party_opponents() -> None:
    rows = markdown_table_cells(render_markdown(report_with_third_party()))
    assert len(rows) == 3
    efficiency_cells = []
    for row in rows:
        children = row[-1].children
        assert children is not None
        efficiency_cells.append("".join(child.content for child in children))
    assert efficiency_cells == ["50.0%", "50.0%", "0.0% against sides 1, 2"]


def test_discord_export_names_third_party_opponents() -> None:
    block = render_discord(report_with_third_party()).splitlines()[3:-1]
    assert len(block) == 3
    assert block[0].endswith(" 50.0%")
    assert block[1].endswith(" 50.0%")
    assert block[2].endswith(" 0.0% against sides 1, 2")


def report_with_unvalued_kills() -> BattleReport:
    """A report where 3 of its 40 kills have no ISK value."""
    report = report_with_third_party()
    metrics = report.metrics | {"completeness": {"kills_without_value": 3}}
    return dataclasses.replace(report, metrics=metrics)


@pytest.mark.parametrize("render", [render_text, render_markdown, render_discord])
def test_exports_count_kills_without_value(render: Any) -> None:
    note = "3 of 40 kills have no ISK value"
    assert note in render(report_with_unvalued_kills()).splitlines()
    assert "no ISK value" not in render(report_with_third_party())


def test_discord_note_follows_closed_block() -> None:
    lines = render_discord(report_with_unvalued_kills()).splitlines()
    assert lines[-2:] == ["```", "3 of 40 kills have no ISK value"]


def test_discord_third_party_efficiency_aligned() -> None:
    block = render_discord(report_with_third_party()).splitlines()[3:-1]
    percent_columns = {row.index("%") for row in block}
    assert len(percent_columns) == 1, block


def report_without_names() -> BattleReport:
    """A report with one kill and no stored names for its side or its victim."""
    report = report_named(["Alpha", "Beta"])
    victim = KillRow(
        killmail_id=95_000_001,
        killmail_time=START,
        solar_system_id=30000142,
        victim_character_id=2_112_000_001,
        victim_corporation_id=98_000_001,
        victim_alliance_id=99_000_001,
        victim_ship_type_id=638,
        total_value=1e8,
        side_no=1,
        final_blow_character_id=2_112_000_002,
        attacker_count=5,
    )
    sides = [
        side(number)
        | {"ships_lost_by_class": {}, "top_final_blows": [], "top_damage": []}
        for number in (1, 2)
    ]
    return dataclasses.replace(
        report, metrics={"sides": sides}, killmails=(victim,), names={}
    )


def test_json_killmail_keeps_victim_ids() -> None:
    document = json.loads(render_json(report_without_names()))
    (killmail,) = document["killmails"]
    assert killmail["victim"] is None
    assert killmail["victim_corporation"] is None
    assert killmail["victim_character_id"] == 2_112_000_001
    assert killmail["victim_corporation_id"] == 98_000_001
    assert killmail["victim_alliance_id"] == 99_000_001
    assert killmail["victim_ship_type_id"] == 638
    assert killmail["ship_type_id"] == 638


@pytest.mark.parametrize("render", [render_text, render_markdown, render_discord])
def test_unnamed_side_shows_id(render: Callable[[BattleReport], str]) -> None:
    text = render(report_without_names())
    assert "#99000001" in text
    assert "#99000002" in text


def test_text_lost_classes_by_count() -> None:
    report = report_without_names()
    lost = {"frigate": 3, "battleship": 12, "cruiser": 3, "capsule": 20}
    sides = [dict(report.sides[0], ships_lost_by_class=lost), report.sides[1]]
    report = dataclasses.replace(report, metrics={"sides": sides})

    text = render_text(report)

    assert "  lost: capsule 20, battleship 12, cruiser 3, frigate 3\n" in text


def report_of_pilotless_side() -> BattleReport:
    """A report whose side 2 lost 250 structures and has no pilots."""
    report = report_without_names()
    pilotless = dict(report.sides[1], pilots=0, ships_lost=250)
    return dataclasses.replace(report, metrics={"sides": [report.sides[0], pilotless]})


def test_text_explains_zero_pilots() -> None:
    lines = render_text(report_of_pilotless_side()).splitlines()

    assert any(
        line.startswith("  pilots 0 (losses had no pilot)  ships lost 250")
        for line in lines
    )
    assert any(line.startswith("  pilots 10  ships lost 4") for line in lines)


def test_markdown_explains_zero_pilots() -> None:
    rows = markdown_table_cells(render_markdown(report_of_pilotless_side()))

    assert rows[0][2].content == "10"
    assert rows[1][2].content == "0 (losses had no pilot)"


def test_discord_explains_zero_pilots() -> None:
    lines = render_discord(report_of_pilotless_side()).splitlines()
    fence = lines.index("```")
    block_end = lines.index("```", fence + 1)

    assert "   0p  250 lost" in lines[fence + 2]
    assert lines[block_end + 1] == "0p (losses had no pilot)"


def test_discord_without_pilotless_side_has_no_note() -> None:
    assert "no pilot" not in render_discord(report_without_names())
