"""Wrong arguments and unusable files end with a message and status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.commands.arguments import isk_amount
from evedmv_tui.commands.output import printable


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["battles", "list", "--limit", "-1"], "from 1 to 2,147,483,647"),
        (["battles", "list", "--since", "99999999w"], "invalid age '99999999w'"),
        (["battles", "list", "--until", "9999999999999w"], "invalid age"),
        (["battles", "list", "--min-kills", "99999999999999"], "from 0 to"),
        (["battles", "list", "--min-isk", "inf"], "invalid ISK amount 'inf'"),
        (["battles", "show", "0"], "invalid value '0'"),
        (["rejects", "list", "--limit", "-1"], "invalid value '-1'"),
        (["watch", "matches", "any", "--limit", "-1"], "invalid value '-1'"),
        (
            ["watch", "add", "big", "--characters", "99999999999999999999"],
            "invalid id list",
        ),
        (["watch", "add", "commas", "--characters", ",,"], "invalid id list ',,'"),
        (["watch", "add", "nan", "--min-value", "nan"], "invalid ISK amount 'nan'"),
        (["watch", "add", "inf", "--min-value", "2.5q"], "invalid ISK amount '2.5q'"),
        (["performance", "--interval", "nan"], "give a finite number over 0"),
        (["performance", "--interval", "inf"], "up to 86400"),
        (["query-performance", "--top", "0"], "invalid value '0'"),
        (["generate", "--killmails", "-5"], "invalid value '-5'"),
        (["follow", "--poll-seconds", "0"], "give a finite number over 0"),
    ],
)
def test_bad_values_exit_before_running(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1e9", 1e9),
        ("1000000000", 1e9),
        ("1b", 1e9),
        ("1000m", 1e9),
        ("2.5B", 2.5e9),
        ("12.4k", 12_400.0),
        ("0.5t", 5e11),
        ("0", 0.0),
    ],
)
def test_isk_amount_units(text: str, amount: float) -> None:
    assert isk_amount(text) == pytest.approx(amount)


def test_unusable_files_give_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate = ["generate", "--killmails", "1", "--universe", "builtin"]
    missing = tmp_path / "missing" / "out.jsonl"
    assert main([*generate, "--output", str(missing)]) == 2
    error = capsys.readouterr().err
    assert f"cannot use a file: {missing}: No such file or directory" in error
    assert "\nhint: give a path" in error
    assert main(["--log-file", str(tmp_path), *generate, "-o", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err
    log_file = tmp_path / "no-such-folder" / "log.txt"
    assert main(["--log-file", str(log_file), *generate, "-o", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"cannot use a file: {log_file}: No such file or directory" in error
    assert "in an existing folder" in error
    assert not log_file.parent.exists()
    # A control character in the path is shown escaped, not sent to the terminal.
    odd = tmp_path / "no\x1b[2Jfolder" / "out.jsonl"
    assert main([*generate, "--output", str(odd)]) == 2
    error = capsys.readouterr().err
    assert "\x1b" not in error
    assert "no\\x1b[2Jfolder" in error
    assert main(["--config", str(tmp_path / "none.toml"), *generate]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert main(["--dsn", "nonsense", "db", "status"]) == 2
    error = capsys.readouterr().err
    assert (
        "invalid DSN: 'nonsense' from the command line is not a connection string"
    ) in error
    assert 'missing "=" after "nonsense"' in error
    missing_sde = ["--data-dir", str(tmp_path), "demo", "--sde", str(missing)]
    assert main([*missing_sde, "--no-dashboard"]) == 2
    assert "static data export not found" in capsys.readouterr().err


def test_bad_recipes_are_explained(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    show = ["--dsn", db_url, "--data-dir", str(tmp_path), "battles", "show"]
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xfe\x00binary")
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    for path, reason in ((garbage, "not UTF-8 text"), (deep, "nested too deeply")):
        assert main([*show, "--recipe", str(path)]) == 2
        assert reason in capsys.readouterr().err
    assert main([*show, "7", "--recipe", str(deep)]) == 2
    assert "a battle id and --recipe FILE were both given" in capsys.readouterr().err


def test_rejects_list_escapes_controls(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = '{"killmail_id": 1, "zkb": {"hash": "\x1b]0;PWNED\x07\x1b[2J"}}\n'
    path = tmp_path / "esc.json"
    path.write_text(hostile)
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", str(path)]) == 1
    capsys.readouterr()
    assert main([*base, "rejects", "list", "--raw"]) == 0
    output = capsys.readouterr().out
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "\\x1b]0;PWNED\\x07\\x1b[2J" in output


def test_printable_escapes_controls_only() -> None:
    assert printable("Jita 4-4 ✓\tok") == "Jita 4-4 ✓\\x09ok"
    assert printable("\x00\x7f\x9b") == "\\x00\\x7f\\x9b"


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://ops:leakme@[::1/db", "'postgresql://ops:***@[::1/db'"),
        ("postgresql://ops:leakme@host/db?bogus=1", "'postgresql://ops:***@host/db"),
        ("host=db password=leakme bogus=1", "'host=db password=*** bogus=1'"),
    ],
)
def test_unparsable_dsn_hides_password(
    dsn: str,
    shown: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A DSN that libpq could not parse was quoted whole, password included,
    in the error and in libpq's reason; the source was not named."""
    monkeypatch.setenv("EVEDMV_DSN", dsn)

    assert main(["db", "status"]) == 2

    error = capsys.readouterr().err
    assert "leakme" not in error
    assert f"invalid DSN: {shown}" in error
    assert "from EVEDMV_DSN is not a connection string" in error
