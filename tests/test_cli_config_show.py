"""``evedmv config show``: each setting's value and where it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main

SETTING_VARIABLES = (
    "EVEDMV_DSN",
    "EVEDMV_DATA_DIR",
    "EVEDMV_STATE_DIR",
    "EVEDMV_LOG_FILE",
    "EVEDMV_USER_AGENT",
    "EVEDMV_ESI_URL",
    "EVEDMV_R2Z2_URL",
    "EVEDMV_POLL_INTERVAL",
    "EVEDMV_SLOW_WARNING_SECONDS",
    "EVEDMV_SLOW_ERROR_SECONDS",
    "EVEDMV_OFFLINE",
)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file in the default place, and a mix of sources for settings."""
    for variable in SETTING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("EVEDMV_ESI_URL", "http://127.0.0.1:8080/latest")
    path = tmp_path / "config" / "evedmv" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('poll_interval = 5\nr2z2_url = "http://127.0.0.1:8081/r2z2"\n')
    return path


def test_text_names_each_source(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing showed the settings in effect: a user who pointed the service
    URLs at a mirror had no way to check them but Python."""
    dsn = "host=/tmp dbname=kills user=ops password=hunter2"

    status = main(["--dsn", dsn, "--offline", "config", "show"])

    out = capsys.readouterr().out
    lines = {
        line.removeprefix("# ").split(" ", 1)[0]: line for line in out.splitlines()
    }
    assert status == 0
    assert out.splitlines()[0] == f"# config file: {config_file} (read)"
    assert lines["esi_url"].startswith('esi_url = "http://127.0.0.1:8080/latest"')
    assert lines["esi_url"].endswith("# EVEDMV_ESI_URL")
    assert lines["r2z2_url"].endswith(f"# {config_file}")
    assert lines["poll_interval"].startswith("poll_interval = 5.0 ")
    assert lines["offline"].startswith("offline = true ")
    assert lines["offline"].endswith("# the command line")
    assert lines["log_file"].startswith("# log_file = (not set) ")
    assert lines["log_file"].endswith("# default")
    assert "hunter2" not in out
    assert "password=***" in lines["dsn"]


def test_json_lists_every_setting(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "elsewhere"

    status = main(["--data-dir", str(data_dir), "config", "show", "--json"])

    document = json.loads(capsys.readouterr().out)
    settings = document["settings"]
    assert status == 0
    assert document["config_file"] == str(config_file)
    assert document["config_file_exists"] is True
    assert settings["data_dir"] == {
        "value": str(data_dir),
        "source": "the command line",
    }
    assert settings["state_dir"] == {
        "value": str(data_dir / "state"),
        "source": "data_dir (from the command line)",
    }
    assert settings["dsn"] == {"value": None, "source": "default"}
    assert settings["poll_interval"] == {"value": 5.0, "source": str(config_file)}
    assert "zkb_url" not in settings


def test_url_password_hidden(
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVEDMV_ESI_URL", "http://ops:leakme@127.0.0.1:8080/latest")

    assert main(["config", "show"]) == 0

    out = capsys.readouterr().out
    assert "leakme" not in out
    assert 'esi_url = "http://ops:***@127.0.0.1:8080/latest"' in out
