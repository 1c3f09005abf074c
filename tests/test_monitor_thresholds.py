"""Slow-query thresholds where the warning is not below the error.

``EVEDMV_SLOW_WARNING_SECONDS=10 EVEDMV_SLOW_ERROR_SECONDS=5`` was accepted,
and no duration could then be a warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.config import load_settings
from evedmv_tui.errors import ConfigError


def test_inverted_thresholds_name_both_sources(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            config_file=tmp_path / "none.toml",
            environ={
                "EVEDMV_SLOW_WARNING_SECONDS": "10",
                "EVEDMV_SLOW_ERROR_SECONDS": "5",
            },
        )
    error = caught.value
    assert error.message == (
        "slow_warning_seconds=10 from EVEDMV_SLOW_WARNING_SECONDS is not below"
        " slow_error_seconds=5 from EVEDMV_SLOW_ERROR_SECONDS, so no duration"
        " could be a warning"
    )
    assert error.hint is not None
    assert "defaults 1 and 5" in error.hint


def test_equal_thresholds_are_rejected(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("slow_error_seconds = 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"slow_warning_seconds": 2.0},
            config_file=config,
            environ={},
        )
    message = caught.value.message
    assert "slow_warning_seconds=2 from the command line" in message
    assert f"slow_error_seconds=2 from {config}" in message


def test_warning_against_default_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            config_file=tmp_path / "none.toml",
            environ={"EVEDMV_SLOW_WARNING_SECONDS": "6"},
        )
    assert "slow_error_seconds=5 from the default" in caught.value.message


def test_ordered_thresholds_are_kept(tmp_path: Path) -> None:
    settings = load_settings(
        config_file=tmp_path / "none.toml",
        environ={
            "EVEDMV_SLOW_WARNING_SECONDS": "0.5",
            "EVEDMV_SLOW_ERROR_SECONDS": "2",
        },
    )
    assert settings.slow_warning_seconds == 0.5
    assert settings.slow_error_seconds == 2.0
