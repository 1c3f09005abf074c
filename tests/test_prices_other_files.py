"""A price import of killmails or static data names them and the command to use."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from evedmv_tui.prices import PriceError, read_prices
from tests.conftest import shared_file

KILLMAIL_FILES = [
    ("killmails/real/zkb_api_2018-05-19.jsonl", "zkb-api"),
    ("killmails/real/everef_cluster_samples.jsonl", "everef"),
    ("killmails/real/zk_activity_fixtures.jsonl", "redisq"),
    ("killmails/real/esi_killmail_seb-odessa.json", "esi"),
    ("killmails/feeds/redisq_package_119455394.json", "redisq"),
    ("killmails/feeds/r2z2_shrike_testdata_900001.json", "r2z2"),
    ("killmails/feeds/zkb_api_moldenheath_npc.json", "zkb-only"),
    ("killmails/feeds/zkb_history_20190801.json", "zkb-history"),
    ("killmails/everef/killmails-2021-12-03.tar.bz2", "everef"),
]


def _price_error(path: Path) -> PriceError:
    with pytest.raises(PriceError) as caught:
        read_prices(path)
    return caught.value


@pytest.mark.parametrize(("relative", "shape"), KILLMAIL_FILES)
def test_killmail_file_named(relative: str, shape: str) -> None:
    """A file of killmails in JSON Lines got the advice to join its lines
    into an array, as though they were price records."""
    path = shared_file(relative)

    error = _price_error(path)

    assert error.title == "not a price file"
    assert error.message == (
        f"{path} contains killmail documents ({shape}), not prices"
    )
    assert error.hint is not None
    assert error.hint.startswith(f"import it with 'evedmv import {path}'")
    assert "jq" not in error.hint


def test_gzipped_killmails_named(tmp_path: Path) -> None:
    path = tmp_path / "kills.jsonl.gz"
    source = shared_file("killmails/real/zkb_api_2018-05-19.jsonl")
    path.write_bytes(gzip.compress(source.read_bytes()))

    error = _price_error(path)

    assert error.message == f"{path} contains killmail documents (zkb-api), not prices"


def test_sde_zip_named() -> None:
    path = shared_file("sde-jsonl.zip")

    error = _price_error(path)

    assert (
        error.message
        == f"{path} contains static data (CCP's JSON Lines SDE), not prices"
    )
    assert error.hint is not None
    assert error.hint.startswith(f"import it with 'evedmv sde import {path}'")


def test_sde_file_names_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sde folder"
    folder.mkdir()
    path = folder / "mapRegions.jsonl"
    shutil.copyfile(shared_file("sde-jsonl/mapRegions.jsonl"), path)

    error = _price_error(path)

    assert "static data (CCP's JSON Lines SDE)" in error.message
    assert error.hint is not None
    assert error.hint.startswith(f"import it with 'evedmv sde import '{folder}''")


def test_label_map_not_called_killmails() -> None:
    path = shared_file("killmails/real/zk_activity_fixture_names.json")

    error = _price_error(path)

    assert "killmail documents" not in error.message
    assert "is a JSON object with the keys" in error.message


def test_other_json_lines_advise_jq(tmp_path: Path) -> None:
    path = tmp_path / "prices.jsonl"
    rows = [{"type_id": 34, "average_price": 5.0}, {"type_id": 35}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    error = _price_error(path)

    assert error.title == "price file is JSON Lines"
    assert error.hint is not None
    assert "jq -s . FILE > prices.json" in error.hint
