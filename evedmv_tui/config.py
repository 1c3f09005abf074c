"""Settings: DSN, directories, HTTP identity and monitor thresholds.

Values come from, in rising priority: defaults, an optional TOML file
(``$XDG_CONFIG_HOME/evedmv/config.toml`` or ``--config``), environment
variables (``EVEDMV_*``) and command-line options.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evedmv_tui import __version__
from evedmv_tui.errors import ConfigError

DEFAULT_USER_AGENT = (
    f"evedmv-tui/{__version__} (set EVEDMV_USER_AGENT or user_agent in "
    "config.toml to your contact address)"
)


def _xdg_dir(
    variable: str, fallback: str, environ: Mapping[str, str] | None = None
) -> Path:
    value = (os.environ if environ is None else environ).get(variable)
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / fallback


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_DATA_HOME/evedmv`` (``~/.local/share/evedmv``)."""
    return _xdg_dir("XDG_DATA_HOME", ".local/share", environ) / "evedmv"


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_STATE_HOME/evedmv`` (``~/.local/state/evedmv``)."""
    return _xdg_dir("XDG_STATE_HOME", ".local/state", environ) / "evedmv"


def default_config_file(environ: Mapping[str, str] | None = None) -> Path:
    return _xdg_dir("XDG_CONFIG_HOME", ".config", environ) / "evedmv" / "config.toml"


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command or the dashboard needs to know before it starts."""

    dsn: str | None = None
    """Connection string of an existing server; None starts the private cluster."""
    data_dir: Path = dataclasses.field(default_factory=default_data_dir)
    """Private cluster and imported state."""
    state_dir: Path = dataclasses.field(default_factory=default_state_dir)
    """Regression baselines (one SQLite file per database, see
    :func:`evedmv_tui.store.target.baseline_file`) and other per-user state."""
    log_file: Path | None = None
    verbose: int = 0
    user_agent: str = DEFAULT_USER_AGENT
    """Sent on every request to ESI and zKillboard; should name a contact."""
    esi_url: str = "https://esi.evetech.net/latest"
    r2z2_url: str = "https://r2z2.zkillboard.com/ephemeral"
    poll_interval: float = 2.0
    """Seconds between monitor polls."""
    slow_warning_seconds: float = 1.0
    """A statement whose mean time in an interval exceeds this is a warning."""
    slow_error_seconds: float = 5.0
    """A statement whose mean time in an interval exceeds this is an error."""
    mouse: bool = True
    offline: bool = False
    """Never contact ESI or zKillboard: names stay unresolved, bodies pending."""


_ENVIRONMENT = {
    "EVEDMV_DSN": "dsn",
    "EVEDMV_DATA_DIR": "data_dir",
    "EVEDMV_STATE_DIR": "state_dir",
    "EVEDMV_LOG_FILE": "log_file",
    "EVEDMV_USER_AGENT": "user_agent",
    "EVEDMV_ESI_URL": "esi_url",
    "EVEDMV_R2Z2_URL": "r2z2_url",
    "EVEDMV_POLL_INTERVAL": "poll_interval",
    "EVEDMV_SLOW_WARNING_SECONDS": "slow_warning_seconds",
    "EVEDMV_SLOW_ERROR_SECONDS": "slow_error_seconds",
    "EVEDMV_OFFLINE": "offline",
}


def _check_url(name: str, value: str, source: str) -> str:
    """Return ``value`` when it is an http or https URL with a host.

    Raises :class:`ConfigError` naming the setting and its source otherwise,
    because a feed or API client would only fail later, on every request.
    """
    try:
        parts = urllib.parse.urlsplit(value)
        port_valid = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_valid = None, False
    if (
        parts is not None
        and port_valid
        and parts.scheme.lower() in ("http", "https")
        and parts.hostname
        and not any(character.isspace() for character in value)
    ):
        return value
    default = next(f.default for f in dataclasses.fields(Settings) if f.name == name)
    raise ConfigError(
        "invalid setting",
        f"{name}={value!r} from {source}: not an http or https URL with a host",
        f"give a URL such as {default}, or remove the setting to use that default",
    )


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
"""Words a boolean setting reads as true (after stripping and lowercasing)."""
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
"""Words a boolean setting reads as false."""


def _expect(value: Any, types: tuple[type, ...], expected: str) -> Any:
    """Return ``value`` if it is an instance of one of ``types``.

    A TOML file can give a number, boolean, array or table for any setting.
    A bool passes only where ``types`` names it, although Python counts it
    as an int.

    Raises:
        ValueError: ``value`` has another type; the message names ``expected``.
    """
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ValueError(f"expected {expected}")
    return value


def _shown(value: Any) -> str:
    """Return ``value`` as a setting error quotes it.

    A string keeps its quotes; a number, boolean, array or table from the
    TOML file reads as TOML writes it (``true``, not Python's ``True``).
    """
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _coerce(name: str, value: Any, source: str) -> Any:
    field_types = {f.name: f.type for f in dataclasses.fields(Settings)}
    kind = str(field_types[name])
    try:
        if "Path" in kind:
            path = _expect(value, (str, os.PathLike), "a path (a string)")
            if "\0" in os.fspath(path):
                raise ValueError("a path cannot contain a NUL character")
            return Path(path).expanduser()
        if "float" in kind:
            number = float(_expect(value, (str, int, float), "a number"))
            if not math.isfinite(number) or number <= 0:
                raise ValueError("must be a positive finite number")
            return number
        if kind == "int":
            whole = int(_expect(value, (str, int), "a whole number"))
            if whole < 0:
                raise ValueError("must be 0 or more")
            return whole
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in TRUE_WORDS:
                return True
            if text in FALSE_WORDS:
                return False
            raise ValueError("give 1, true, yes or on, or 0, false, no or off")
        string: str = _expect(value, (str,), "a string")
        if name == "user_agent" and (
            not string.strip() or any(not c.isprintable() for c in string)
        ):
            raise ValueError("give a contact such as 'me@example.com', on one line")
        if name == "dsn" and not string.strip():
            # An empty DSN means none, as an empty EVEDMV_DSN does.
            return None
    except ValueError as exc:
        raise ConfigError(
            "invalid setting",
            f"{name}={_shown(value)} from {source}: {exc}",
            "fix the value or remove it to use the default",
        ) from None
    if name.endswith("_url"):
        return _check_url(name, string, source)
    return string


def _check_thresholds(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Raise :class:`ConfigError` unless the slow warning is below the error.

    With the warning at or above the error threshold, no duration could
    ever be a warning. The message names both settings and their sources.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    named = {}
    for name in ("slow_warning_seconds", "slow_error_seconds"):
        value = values.get(name, defaults[name])
        source = sources.get(name, "the default")
        named[name] = (value, f"{name}={value:g} from {source}")
    warning, warning_text = named["slow_warning_seconds"]
    error, error_text = named["slow_error_seconds"]
    if warning < error:
        return
    raise ConfigError(
        "invalid setting",
        f"{warning_text} is not below {error_text}, so no duration could be a warning",
        "give a warning threshold below the error threshold, or remove both"
        f" to use the defaults {defaults['slow_warning_seconds']:g} and"
        f" {defaults['slow_error_seconds']:g}",
    )


DEFAULT_SOURCE = "default"
"""The source :func:`load_settings_with_sources` gives a setting left at its default."""


def load_settings(
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build settings from the TOML file, the environment and ``overrides``."""
    return load_settings_with_sources(overrides, config_file, environ)[0]


def load_settings_with_sources(
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Build settings as :func:`load_settings` does, with the source of each.

    The source of a setting is the config file's path, an environment
    variable's name, ``"the command line"`` or :data:`DEFAULT_SOURCE`. A
    state directory that follows a chosen data directory names that.
    """
    environ = dict(os.environ) if environ is None else environ
    defaults: dict[str, Any] = {
        "data_dir": default_data_dir(environ),
        "state_dir": default_state_dir(environ),
    }
    values = dict(defaults)
    # Where each value that is not a default came from, for error messages.
    sources: dict[str, str] = {}
    path = config_file or default_config_file(environ)
    if path.exists():
        try:
            # utf-8-sig: editors on Windows save a byte order mark first.
            table = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                "invalid config file", f"{path}: {exc}", "fix or remove the file"
            ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                "invalid config file",
                f"{path}: not UTF-8 text (invalid byte at offset {exc.start})",
                "give a TOML file saved as UTF-8, or remove the file",
            ) from None
        known = {f.name for f in dataclasses.fields(Settings)}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(
                    "invalid config file",
                    f"{path}: unknown setting {key!r}",
                    f"known settings: {', '.join(sorted(known))}",
                )
            values[key] = _coerce(key, value, str(path))
            sources[key] = str(path)
    for variable, name in _ENVIRONMENT.items():
        if environ.get(variable):
            values[name] = _coerce(name, environ[variable], variable)
            sources[name] = variable
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(name, value, "the command line")
            sources[name] = "the command line"
    _check_thresholds(values, sources)
    if values["data_dir"] != defaults["data_dir"] and "state_dir" not in sources:
        # A data directory chosen by the user keeps the local state too, so
        # two data directories never share baselines or exports.
        values["state_dir"] = Path(values["data_dir"]) / "state"
        sources["state_dir"] = f"data_dir (from {sources['data_dir']})"
    data_dir = Path(values["data_dir"])
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(
            "invalid data directory",
            f"{data_dir} is a file, not a directory",
            "give a directory with --data-dir or EVEDMV_DATA_DIR",
        )
    for field in dataclasses.fields(Settings):
        sources.setdefault(field.name, DEFAULT_SOURCE)
    return Settings(**values), sources
