"""Price import from an ESI /markets/prices/ response."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.generate import generate_killmails
from evedmv_tui.ingest.importer import import_records
from evedmv_tui.prices import PriceError, import_prices
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.test_battle_fixtures import RIFTER, brawl, fleet, insert_kills

PRICES_FILE = "prices/esi_markets_prices_2025-05-13.json"


def test_import_real_response(db: Database) -> None:
    summary = import_prices(db, shared_file(PRICES_FILE))
    assert summary.read == 15134
    assert summary.inserted == 15134
    assert db.fetch_value("SELECT count(*) FROM prices") == 15134
    missing_average = db.fetch_value(
        "SELECT count(*) FROM prices WHERE average_price IS NULL"
    )
    assert missing_average == 1990
    rifter = db.fetch_one(
        "SELECT average_price, adjusted_price FROM prices WHERE type_id = 587"
    )
    assert rifter == (pytest.approx(325487.77), pytest.approx(387953.0806473524))


def test_reimport_changes_nothing(db: Database) -> None:
    import_prices(db, shared_file(PRICES_FILE))
    again = import_prices(db, shared_file(PRICES_FILE))
    assert again.inserted == 0
    assert again.updated == 0


def test_changed_prices_revalue_killmails(db: Database, tmp_path: Path) -> None:
    """A price import re-values every killmail without zkb values and
    leaves those with zkb values alone."""
    documents = [json.loads(d) for d in generate_killmails(60, 8)]
    with_zkb = documents[:30]
    without_zkb = [{k: v for k, v in d.items() if k != "zkb"} for d in documents[30:]]
    import_records(db, with_zkb + without_zkb, source="test")
    zkb_totals = dict(
        db.fetch_all(
            "SELECT killmail_id, total_value FROM killmails WHERE value_source = 'zkb'"
        )
    )
    assert len(zkb_totals) == 30
    # A capsule's 10,000 ISK does not come from the prices table.
    chosen = next(d for d in without_zkb if d["victim"]["ship_type_id"] != 670)
    hull = chosen["victim"]["ship_type_id"]
    first = tmp_path / "first.json"
    first.write_text(
        json.dumps([{"type_id": hull, "average_price": 1000.0, "adjusted_price": 5.0}])
    )
    summary = import_prices(db, first)
    assert summary.revalued >= 1
    killmail_id = chosen["killmail_id"]
    before = db.fetch_value(
        "SELECT total_value FROM killmails WHERE killmail_id = %s", (killmail_id,)
    )
    assert before >= 1000.0
    second = tmp_path / "second.json"
    second.write_text(
        json.dumps([{"type_id": hull, "average_price": 2000.0, "adjusted_price": 5.0}])
    )
    assert import_prices(db, second).updated == 1
    after = db.fetch_value(
        "SELECT total_value FROM killmails WHERE killmail_id = %s", (killmail_id,)
    )
    assert after == pytest.approx(before + 1000.0)
    assert zkb_totals == dict(
        db.fetch_all(
            "SELECT killmail_id, total_value FROM killmails WHERE value_source = 'zkb'"
        )
    )


def test_changed_values_detect_battles_again(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Battles show the values a price import gives their killmails, and an
    import that changes no value leaves them alone. With --no-detect they
    stay marked outdated until a full detection."""
    insert_kills(
        db, brawl(fleet(4, 98_000_601, None), fleet(4, 98_000_602, None), kills=12)
    )
    assert main(["--dsn", db_url, "battles", "detect"]) == 0
    assert db.fetch_value("SELECT isk_destroyed FROM battles") == 12 * 10_000_000.0
    capsys.readouterr()
    path = tmp_path / "prices.json"
    path.write_text(json.dumps([{"type_id": RIFTER, "average_price": 2e9}]))

    assert main(["--dsn", db_url, "prices", "import", str(path), "--no-detect"]) == 0
    out = capsys.readouterr().out
    assert "values changed for 12 killmails" in out
    assert "run 'evedmv battles detect --rebuild'" in out
    assert db.fetch_value("SELECT isk_destroyed FROM battles") == 12 * 10_000_000.0

    # The same prices change no value. The line used to say that killmail
    # values changed, as if this import had changed them.
    assert main(["--dsn", db_url, "prices", "import", str(path), "--no-detect"]) == 0
    out = capsys.readouterr().out
    assert "killmail values changed" not in out
    assert (
        "stored battles are out of date from an earlier change (an import with"
        " --no-detect, or new side rules); run 'evedmv battles detect --rebuild'"
    ) in out

    # The battles are still outdated, so an import with detection detects them.
    assert main(["--dsn", db_url, "prices", "import", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["revalued"] == 0
    assert document["battles_outdated"] is False
    assert document["battles"]["battles"] == 1
    assert db.fetch_value("SELECT isk_destroyed FROM battles") == 12 * 2e9

    assert main(["--dsn", db_url, "prices", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "values changed for 0 killmails" in out
    assert "battle" not in out


def test_no_revalue_message(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-revalue printed "values changed for 0 killmails", as if the prices
    had changed nothing."""
    insert_kills(
        db, brawl(fleet(2, 98_000_611, None), fleet(2, 98_000_612, None), kills=4)
    )
    before = db.fetch_all("SELECT killmail_id, total_value FROM killmails")
    path = tmp_path / "prices.json"
    path.write_text(json.dumps([{"type_id": RIFTER, "average_price": 2e9}]))
    capsys.readouterr()
    command = ["--dsn", db_url, "prices", "import", str(path), "--no-revalue"]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "killmail values left as they were (--no-revalue)" in out
    assert "values changed for" not in out
    assert db.fetch_all("SELECT killmail_id, total_value FROM killmails") == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"type_id": 1}', "is a JSON object with the keys type_id, not an array"),
        (
            '[{"average_price": 3.0}]',
            "record 1, field type_id: required field type_id is missing",
        ),
        (
            '[{"type_id": "x"}]',
            'record 1: type_id is a string ("x"), expected an integer',
        ),
        (
            '[{"type_id": "x"}, {"type_id": 2, "average_price": "abc"}]',
            'record 1: type_id is a string ("x"), expected an integer',
        ),
        ('[{"type_id": 1, "average_price": -4}]', "record 1 (type_id 1)"),
        (
            '[{"type_id": 34, "average_price": 1e300, "adjusted_price": 1}]',
            "record 1 (type_id 34): average_price is 1e+300, expected a finite"
            " number of ISK from 0 to 1e+15",
        ),
        (
            '[{"type_id": 2, "adjusted_price": 1000000000000001}]',
            "record 1 (type_id 2): adjusted_price is 1000000000000001.0",
        ),
        (
            '[{"type_id": 1180591620717411303424, "average_price": 1}]',
            "record 1: type_id is 1180591620717411303424, expected a positive"
            " bigint (1 to 9223372036854775807)",
        ),
        ('[{"type_id": 0, "average_price": 1}]', "record 1: type_id is 0"),
        ("[{", "not complete JSON"),
        ('{"killmail_id": 5, "kill', "not complete JSON"),
        ('{"type_id": 34}', "is a JSON object with the keys type_id, not an array"),
        ("[1, }", "not valid JSON (JSON is malformed"),
    ],
)
def test_bad_response_rejected(
    db: Database, tmp_path: Path, body: str, expected: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(body)
    with pytest.raises(PriceError) as caught:
        import_prices(db, path)
    assert expected in caught.value.message
    assert str(path) in caught.value.message
    assert db.fetch_value("SELECT count(*) FROM prices") == 0


@pytest.mark.parametrize(
    ("body", "message", "hint"),
    [
        (b"", "is empty", "save the body of ESI's GET /markets/prices/"),
        (b" \n", "is empty", "save the body of ESI's GET /markets/prices/"),
        (b"PK\x03\x04\x14\x00", "is a zip archive, not JSON", "unzip it"),
        (b"<html>502 Bad Gateway", "is not JSON: it starts with '<html>", "expected"),
        (
            b'{"type_id": 34, "average_price": 1.0}\n{"type_id": 35}\n',
            "one JSON document per line (JSON Lines)",
            "jq -s . FILE",
        ),
        (b"42", "is a JSON number, not an array of price records", "expected"),
        (b"[1, }", "not valid JSON", "the file is damaged or was edited"),
        (b"[]", "the array contains no price records", "expected"),
    ],
)
def test_unreadable_file_named_by_kind(
    db: Database, tmp_path: Path, body: bytes, message: str, hint: str
) -> None:
    """Only a file that ends inside a value is blamed on truncation."""
    path = tmp_path / "prices.json"
    path.write_bytes(body)

    with pytest.raises(PriceError) as caught:
        import_prices(db, path)

    assert f"{path}" in caught.value.message
    assert message in caught.value.message
    assert caught.value.hint is not None
    assert hint in caught.value.hint
    assert "cut off" not in caught.value.message
    assert "truncated" not in caught.value.hint


def test_bad_price_records_kept(db: Database, tmp_path: Path) -> None:
    """One damaged record costs only itself: the rest are stored, and it is
    kept in ``rejects`` with its place, field, reason and text, once however
    often the file is imported."""
    path = tmp_path / "prices.json"
    path.write_text(
        '[{"type_id": 34, "average_price": 5.0},'
        ' {"type_id": 35, "average_price": "abc"},'
        ' {"average_price": 2.0},'
        ' {"type_id": 36, "adjusted_price": 1e16},'
        ' {"type_id": 37, "adjusted_price": 7.0}]'
    )
    summary = import_prices(db, path)

    assert summary.read == 5
    assert summary.inserted == 2
    assert [r.describe() for r in summary.rejects] == [
        'record 2 (type_id 35): average_price is a string ("abc"), expected a number'
        " or null",
        "record 3, field type_id: required field type_id is missing",
        "record 4 (type_id 36): adjusted_price is 1e+16, expected a finite"
        " number of ISK from 0 to 1e+15",
    ]
    assert db.fetch_all("SELECT type_id FROM prices ORDER BY type_id") == [
        (34,),
        (37,),
    ]

    stored = db.fetch_all(
        "SELECT source_file, position, killmail_id, field, raw FROM rejects"
        " ORDER BY position"
    )
    assert stored == [
        (
            str(path),
            "record 2 (type_id 35)",
            None,
            "$.average_price",
            '{"type_id": 35, "average_price": "abc"}',
        ),
        (str(path), "record 3", None, "$.type_id", '{"average_price": 2.0}'),
        (
            str(path),
            "record 4 (type_id 36)",
            None,
            "$.adjusted_price",
            '{"type_id": 36, "adjusted_price": 1e16}',
        ),
    ]

    again = import_prices(db, path)
    assert again.inserted == 0
    assert len(again.rejects) == 3
    assert db.fetch_value("SELECT count(*) FROM rejects") == 3


def test_command_lists_rejected_prices(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command stores the valid records, names each rejected one, exits 1,
    and 'rejects list' shows what was kept."""
    path = tmp_path / "prices.json"
    path.write_text(
        '[{"type_id": 34, "average_price": 5.0}, {"type_id": -3, "average_price": 1}]'
    )
    status = main(["--dsn", db_url, "prices", "import", str(path)])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"imported 1 prices from {path}: 1 new, 0 changed" in out
    assert "1 of 2 records rejected" in err
    assert "record 2: type_id is -3, expected a positive bigint" in err
    assert main(["--dsn", db_url, "rejects", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{path} record 2, field type_id: type_id is -3" in listed
    assert main(["--dsn", db_url, "prices", "import", "--json", str(path)]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["read"] == 2
    assert body["rejects"][0]["position"] == "record 2"
    assert body["rejects"][0]["raw"] == '{"type_id": -3, "average_price": 1}'


def test_price_file_with_byte_order_mark(db: Database, tmp_path: Path) -> None:
    """Editors on Windows start UTF-8 files with a byte order mark."""
    path = tmp_path / "prices.json"
    body = '[{"type_id": 34, "average_price": 5.0, "adjusted_price": 4.0}]'
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())

    summary = import_prices(db, path)

    assert summary.read == 1
    assert summary.inserted == 1
    assert db.fetch_value("SELECT average_price FROM prices WHERE type_id = 34") == 5.0


def test_utf16_price_file_says_convert(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_bytes('[{"type_id": 34, "average_price": 5.0}]'.encode("utf-16"))
    with pytest.raises(PriceError) as caught:
        import_prices(db, path)
    assert caught.value.message == (
        f"{path} is UTF-16 text, but JSON files must be UTF-8"
    )
    assert "iconv -f UTF-16 -t UTF-8" in caught.value.render()
    assert db.fetch_value("SELECT count(*) FROM prices") == 0


def test_command_rejects_huge_price(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A price beyond MAX_ISK stops the command with a message and stores nothing."""
    path = tmp_path / "prices.json"
    path.write_text('[{"type_id":34,"average_price":1e300,"adjusted_price":1}]')
    status = main(["--dsn", db_url, "prices", "import", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert f"{path}: record 1 (type_id 34): average_price is 1e+300" in err
    assert "Traceback" not in err
    assert db.fetch_value("SELECT count(*) FROM prices") == 0


def test_command_names_cut_off_file(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A response cut off in a download is called incomplete, not of the
    wrong type, even where it is cut inside its first object."""
    data = shared_file(PRICES_FILE).read_bytes()
    for name, body in [
        ("half.json", data[: len(data) // 2]),
        ("head.json", data[4:40]),
    ]:
        path = tmp_path / name
        path.write_bytes(body)
        status = main(["--dsn", db_url, "prices", "import", str(path)])
        err = capsys.readouterr().err
        assert status == 2
        assert f"{path}: not complete JSON" in err
        assert "was cut off" in err
        assert "fetch the response again" in err
        assert "Expected" not in err
    assert db.fetch_value("SELECT count(*) FROM prices") == 0


def test_stored_bad_price_ignored(db: Database, tmp_path: Path) -> None:
    """An out-of-range price already stored counts as no price, so neither a
    price import nor a killmail import fails on it."""
    db.execute(
        "INSERT INTO prices (type_id, average_price, adjusted_price) VALUES"
        " (34, 1e300, 1), (35, 'NaN', 'Infinity')"
    )
    documents = [json.loads(d) for d in generate_killmails(20, 8)]
    for document in documents:
        del document["zkb"]
        document["victim"]["items"] = [
            {"item_type_id": 34, "flag": 5, "singleton": 0, "quantity_destroyed": 7},
            {"item_type_id": 35, "flag": 5, "singleton": 0, "quantity_dropped": 2},
        ]
    import_records(db, documents, source="test")
    valid = tmp_path / "valid.json"
    valid.write_text('[{"type_id": 36, "average_price": 5.0}]')
    summary = import_prices(db, valid)
    assert summary.inserted == 1
    # Type 34 falls back to its adjusted price. Type 35 has no usable price.
    totals = db.fetch_all(
        "SELECT DISTINCT total_value FROM killmails"
        " WHERE value_source = 'computed' AND victim_ship_type_id <> 670"
    )
    assert totals == [(7.0,)]


def test_missing_file(db: Database, tmp_path: Path) -> None:
    with pytest.raises(PriceError) as caught:
        import_prices(db, tmp_path / "absent.json")
    assert caught.value.title == "price file not found"
