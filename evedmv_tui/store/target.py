"""The identity of the monitored database, which names its baseline file.

Regression baselines describe one database, so every database gets its own
baseline file, ``<state_dir>/baselines/<digest>.sqlite3``. The digest is a
hash of the normalised connection target: the host names or socket
directories, the ports and the database name. The private cluster's target
is its own socket URL, so ``--dsn`` with that URL reaches the same file. The
user name, the password and options such as ``sslmode`` are not part of the
target, so changing them keeps the baselines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.store.cluster import PrivateCluster

BASELINE_DIRECTORY = "baselines"
"""Directory under the state directory that contains one baseline file per target."""
DIGEST_LENGTH = 16
"""Hex digits of SHA-256 in a baseline file name."""


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """The server and database a connection string reaches, without credentials."""

    host: str
    """Host names or socket directories, comma-separated as libpq takes them;
    empty for libpq's default socket directory."""
    hostaddr: str
    """Numeric addresses given with ``hostaddr``, or empty."""
    port: str
    """One port per host, comma-separated."""
    dbname: str
    service: str
    """Name of a ``pg_service.conf`` entry, or empty."""

    @property
    def conninfo(self) -> str:
        """Return the target as a libpq string with only the non-empty fields."""
        fields = {
            "host": self.host,
            "hostaddr": self.hostaddr,
            "port": self.port,
            "dbname": self.dbname,
            "service": self.service,
        }
        return make_conninfo("", **{k: v for k, v in fields.items() if v})

    @property
    def digest(self) -> str:
        """Return a short hash of :attr:`conninfo`, stable across runs."""
        text = self.conninfo.encode("utf-8")
        return hashlib.sha256(text).hexdigest()[:DIGEST_LENGTH]


def _libpq_defaults() -> dict[str, str]:
    """Return libpq's defaults, taken from ``PG*`` variables and compiled values."""
    defaults = {}
    for option in pq.Conninfo.get_defaults():
        if option.val is not None:
            defaults[option.keyword.decode()] = option.val.decode()
    return defaults


def _normal_host(host: str) -> str:
    if host.startswith("/"):
        return os.path.normpath(host)
    return host.lower()


def target_of(conninfo: str) -> DatabaseTarget:
    """Return the target of a libpq connection string or URL.

    Fields missing from ``conninfo`` are filled the way libpq fills them when
    it connects: from ``PGHOST``, ``PGPORT``, ``PGDATABASE`` and the other
    ``PG*`` variables, then from its compiled defaults. A missing database
    name is the user name.

    Raises:
        ConfigError: ``conninfo`` is not a connection string.
    """
    try:
        parsed = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        # The parser's message can quote part of a password, so it is left out.
        raise ConfigError(
            "invalid DSN",
            "the connection string cannot be parsed",
            "give a libpq string such as 'postgresql://user@host/db' or"
            " 'host=/run/postgresql dbname=evedmv'",
        ) from None
    defaults = _libpq_defaults()
    params = {**defaults, **{k: str(v) for k, v in parsed.items() if v}}
    hosts = params.get("host", "")
    default_port = defaults.get("port", "5432")
    ports = [p.strip() or default_port for p in params.get("port", "").split(",")]
    return DatabaseTarget(
        host=",".join(_normal_host(h.strip()) for h in hosts.split(",")),
        hostaddr=params.get("hostaddr", ""),
        port=",".join(ports),
        dbname=params.get("dbname") or params.get("user", ""),
        service=params.get("service", ""),
    )


def settings_target(settings: Settings) -> DatabaseTarget:
    """Return the target that ``settings`` connects to: ``dsn`` or the private cluster.

    The private cluster's target comes from its socket URL, which is known
    whether the cluster runs or not.
    """
    if settings.dsn:
        return target_of(settings.dsn)
    return target_of(PrivateCluster(settings.data_dir).url())


def baseline_file(settings: Settings) -> Path:
    """Return the baseline file of the database that ``settings`` connects to."""
    digest = settings_target(settings).digest
    return settings.state_dir / BASELINE_DIRECTORY / f"{digest}.sqlite3"
