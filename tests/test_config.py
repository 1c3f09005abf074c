"""Settings precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.config import load_settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.store.target import baseline_file


def test_defaults_follow_xdg(tmp_path: Path) -> None:
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    settings = load_settings(config_file=tmp_path / "none.toml", environ=environ)
    assert settings.data_dir == tmp_path / "data" / "evedmv"
    assert settings.dsn is None
    assert settings.slow_warning_seconds == 1.0
    assert settings.slow_error_seconds == 5.0


def test_environment_overrides_file_and_options_override_environment(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('poll_interval = 5.0\nuser_agent = "from-file"\n')
    environ = {"EVEDMV_POLL_INTERVAL": "3", "EVEDMV_DSN": "host=/nowhere"}
    settings = load_settings(
        {"dsn": "host=/elsewhere"}, config_file=config, environ=environ
    )
    assert settings.poll_interval == 3.0
    assert settings.user_agent == "from-file"
    assert settings.dsn == "host=/elsewhere"


def test_unknown_setting_in_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("poll_intervall = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})
    assert "poll_intervall" in caught.value.message
    assert caught.value.hint is not None
    assert "poll_interval" in caught.value.hint


def test_binary_config_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"poll_interval = 5\n\x7fELF\xd0\x01\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})
    assert (
        caught.value.message == f"{config}: not UTF-8 text (invalid byte at offset 22)"
    )
    assert caught.value.hint is not None
    assert "UTF-8" in caught.value.hint


def test_invalid_number_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            config_file=tmp_path / "none.toml",
            environ={"EVEDMV_POLL_INTERVAL": "soon"},
        )
    assert "EVEDMV_POLL_INTERVAL" in caught.value.message


def test_negative_threshold_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(
            config_file=tmp_path / "none.toml",
            environ={"EVEDMV_SLOW_ERROR_SECONDS": "-1"},
        )


def test_data_dir_keeps_state_unless_state_dir_set(tmp_path: Path) -> None:
    environ = {"XDG_STATE_HOME": str(tmp_path / "xdg-state")}
    chosen = tmp_path / "elsewhere"
    config = tmp_path / "none.toml"

    moved = load_settings({"data_dir": chosen}, config_file=config, environ=environ)
    both = load_settings(
        {"data_dir": chosen},
        config_file=config,
        environ={**environ, "EVEDMV_STATE_DIR": str(tmp_path / "state")},
    )
    default = load_settings(config_file=config, environ=environ)

    assert moved.state_dir == chosen / "state"
    assert baseline_file(moved).parent == chosen / "state" / "baselines"
    assert both.state_dir == tmp_path / "state"
    assert default.state_dir == tmp_path / "xdg-state" / "evedmv"


def test_data_dir_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    file = tmp_path / "killmails.jsonl"
    file.write_text("{}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {"data_dir": str(file)}, config_file=tmp_path / "none.toml", environ={}
        )
    assert f"{file} is a file" in str(raised.value)
    assert "--data-dir" in (raised.value.hint or "")
