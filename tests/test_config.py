"""Settings precedence and validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.config import Settings, load_settings
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


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("data_dir = 5", "data_dir=5 from {config}: expected a path (a string)"),
        ("log_file = 7", "log_file=7 from {config}: expected a path (a string)"),
        (
            "state_dir = true",
            "state_dir=true from {config}: expected a path (a string)",
        ),
        ("user_agent = 5", "user_agent=5 from {config}: expected a string"),
        ("dsn = [1]", "dsn=[1] from {config}: expected a string"),
        ("esi_url = 443", "esi_url=443 from {config}: expected a string"),
        ("poll_interval = [2]", "poll_interval=[2] from {config}: expected a number"),
        (
            "slow_error_seconds = true",
            "slow_error_seconds=true from {config}: expected a number",
        ),
        ("verbose = 1.5", "verbose=1.5 from {config}: expected a whole number"),
    ],
)
def test_wrong_type_in_file_is_rejected(
    tmp_path: Path, line: str, expected: str
) -> None:
    """A path setting of another TOML type raised TypeError with a traceback,
    and a number for user_agent was taken as its text."""
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})

    assert caught.value.title == "invalid setting"
    assert caught.value.message == expected.format(config=config)
    assert caught.value.hint == "fix the value or remove it to use the default"


def test_wrong_type_in_file_exits_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("data_dir = 5\n")

    status = main(["--config", str(config), "db", "url"])

    error = capsys.readouterr().err
    assert status == 2
    assert f"invalid setting: data_dir=5 from {config}: expected a path" in error
    assert "\nhint: fix the value" in error
    assert "Traceback" not in error


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


URL_VARIABLES = {
    "EVEDMV_ESI_URL": "esi_url",
    "EVEDMV_R2Z2_URL": "r2z2_url",
}
BAD_URLS = [
    "not a url",
    "ftp://r2z2.zkillboard.com/ephemeral",
    "r2z2.zkillboard.com/ephemeral",
    "https://",
    "http://127.0.0.1:port/",
    "https://zkillboard.com/a b",
]


def test_every_url_setting_is_checked() -> None:
    names = {f.name for f in dataclasses.fields(Settings) if f.name.endswith("_url")}

    assert set(URL_VARIABLES.values()) == names


@pytest.mark.parametrize("value", BAD_URLS)
@pytest.mark.parametrize("variable", sorted(URL_VARIABLES))
def test_bad_url_in_environment_is_rejected(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=tmp_path / "none.toml", environ={variable: value})

    name = URL_VARIABLES[variable]
    assert caught.value.title == "invalid setting"
    assert caught.value.message == (
        f"{name}={value!r} from {variable}: not an http or https URL with a host"
    )
    assert caught.value.hint is not None
    assert "give a URL such as https://" in caught.value.hint


def test_bad_url_in_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('r2z2_url = "ftp://mirror.example/r2z2"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})

    assert f"from {config}" in caught.value.message
    assert caught.value.hint is not None
    assert "https://r2z2.zkillboard.com/ephemeral" in caught.value.hint


def test_bad_url_option_names_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"esi_url": "not a url"}, config_file=tmp_path / "none.toml", environ={}
        )

    assert "from the command line" in caught.value.message


@pytest.mark.parametrize(
    "value",
    ["http://127.0.0.1:8080/r2z2", "https://esi.example/latest", "HTTPS://[::1]/"],
)
def test_http_urls_are_accepted(tmp_path: Path, value: str) -> None:
    environ = {variable: value for variable in URL_VARIABLES}

    settings = load_settings(config_file=tmp_path / "none.toml", environ=environ)

    assert settings.esi_url == value
    assert settings.r2z2_url == value


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('poll_interval = "nan"', "must be a positive finite number"),
        ("poll_interval = inf", "must be a positive finite number"),
        ('data_dir = "a\\u0000b"', "a path cannot contain a NUL character"),
        ("verbose = -3", "must be 0 or more"),
        ('user_agent = ""', "give a contact such as 'me@example.com', on one line"),
        ('user_agent = "me\\nyou"', "give a contact such as"),
    ],
)
def test_values_that_cannot_work_are_rejected(
    tmp_path: Path, line: str, reason: str
) -> None:
    """A NaN poll interval spun a core, a NUL in a path ended in a traceback,
    and an empty or two-line user agent reached the HTTP headers."""
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})

    assert f"from {config}: {reason}" in caught.value.message


def test_byte_order_mark_and_empty_dsn(tmp_path: Path) -> None:
    """A file saved with a UTF-8 byte order mark failed to parse, and an
    empty dsn counted as set."""
    config = tmp_path / "config.toml"
    config.write_bytes(b'\xef\xbb\xbfpoll_interval = 3\ndsn = ""\n')

    settings = load_settings(config_file=config, environ={})

    assert settings.poll_interval == 3.0
    assert settings.dsn is None


def test_state_dir_chosen_by_environment_stays(tmp_path: Path) -> None:
    """A state directory set to the default path still counted as unset, so
    --data-dir moved it under the data directory."""
    default_state = tmp_path / "state" / "evedmv"
    environ = {
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "EVEDMV_STATE_DIR": str(default_state),
    }

    settings = load_settings(
        {"data_dir": str(tmp_path / "data")},
        config_file=tmp_path / "none.toml",
        environ=environ,
    )

    assert settings.state_dir == default_state
