"""``evedmv corp|alliance|character show`` given a negative number."""

from __future__ import annotations

import pytest

from evedmv_tui.cli import main


@pytest.mark.parametrize("word", ["corp", "alliance", "character"])
@pytest.mark.parametrize("query", ["-5", "0"])
def test_out_of_range_id_gets_id_hint(
    db_url: str, word: str, query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A negative number is an invalid id, like 0, and not a name to match."""
    status = main(["--dsn", db_url, word, "show", query, "--offline"])

    err = capsys.readouterr().err
    assert status == 2
    assert f"ids run from 1 to 9223372036854775807, so {query!r} is not" in err
    assert "a name matches" not in err
    assert "Traceback" not in err
