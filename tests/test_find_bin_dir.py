"""Discovery of the PostgreSQL server programs, on fake installations under tmp_path.

Every test restricts PATH to a directory of its own, so the machine's real
installation is never found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.errors import ClusterError
from evedmv_tui.store import cluster
from evedmv_tui.store.cluster import find_bin_dir

SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")


def fake_bin(directory: Path, names: tuple[str, ...] = SERVER_PROGRAMS) -> Path:
    """Create ``directory`` with executable stubs of ``names``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        program = directory / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    return directory


def fake_pg_config(path_dir: Path, bindir: Path) -> None:
    """Put a ``pg_config`` on PATH that prints ``bindir`` for ``--bindir``."""
    program = path_dir / "pg_config"
    program.write_text(f"#!/bin/sh\necho '{bindir}'\n")
    program.chmod(0o755)


@pytest.fixture
def path_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return an empty directory that is all of PATH, with EVEDMV_PG_BIN unset."""
    directory = tmp_path / "path"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.delenv("EVEDMV_PG_BIN", raising=False)
    return directory


@pytest.fixture
def debian_root(tmp_path: Path) -> Path:
    root = tmp_path / "usr-lib-postgresql"
    root.mkdir()
    return root


def test_env_variable_comes_first(
    tmp_path: Path,
    path_dir: Path,
    debian_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chosen = fake_bin(tmp_path / "env-bin")
    fake_pg_config(path_dir, fake_bin(tmp_path / "pg-config-bin"))
    fake_bin(debian_root / "16" / "bin")
    fake_bin(path_dir)
    monkeypatch.setenv("EVEDMV_PG_BIN", str(chosen))
    assert find_bin_dir(debian_root) == chosen


def test_incomplete_env_dir_is_skipped(
    tmp_path: Path,
    path_dir: Path,
    debian_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incomplete = fake_bin(tmp_path / "env-bin", ("initdb", "pg_ctl"))
    from_pg_config = fake_bin(tmp_path / "pg-config-bin")
    fake_pg_config(path_dir, from_pg_config)
    fake_bin(debian_root / "16" / "bin")
    monkeypatch.setenv("EVEDMV_PG_BIN", str(incomplete))
    assert find_bin_dir(debian_root) == from_pg_config


def test_pg_config_before_debian_dirs(
    tmp_path: Path, path_dir: Path, debian_root: Path
) -> None:
    from_pg_config = fake_bin(tmp_path / "pg-config-bin")
    fake_pg_config(path_dir, from_pg_config)
    fake_bin(debian_root / "16" / "bin")
    assert find_bin_dir(debian_root) == from_pg_config


def test_newest_debian_version_wins(path_dir: Path, debian_root: Path) -> None:
    fake_bin(debian_root / "9" / "bin")
    newest = fake_bin(debian_root / "16" / "bin")
    fake_bin(debian_root / "13" / "bin")
    # A newer version without the server package does not count.
    fake_bin(debian_root / "17" / "bin", ("pg_ctl",))
    fake_bin(path_dir)
    assert find_bin_dir(debian_root) == newest


def test_path_comes_last(path_dir: Path, debian_root: Path) -> None:
    fake_bin(debian_root / "16" / "bin", ("initdb",))
    fake_bin(path_dir)
    assert find_bin_dir(debian_root) == path_dir


def test_missing_server_names_packages(path_dir: Path, debian_root: Path) -> None:
    fake_bin(path_dir, ("initdb", "pg_ctl"))
    with pytest.raises(ClusterError) as caught:
        find_bin_dir(debian_root)
    error = caught.value
    assert error.title == "PostgreSQL server not found"
    assert "EVEDMV_PG_BIN" in error.message
    assert f"{debian_root}/*/bin" in error.message
    assert error.hint is not None
    assert "Debian/Ubuntu 'apt-get install postgresql postgresql-contrib'" in (
        error.hint
    )
    assert "macOS 'brew install postgresql@16'" in error.hint
    assert "--dsn" in error.hint


def test_db_start_without_server_fails_cleanly(
    tmp_path: Path,
    path_dir: Path,
    debian_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cluster, "DEBIAN_PG_ROOT", debian_root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("EVEDMV_DSN", raising=False)
    data_dir = tmp_path / "data"

    status = main(["--data-dir", str(data_dir), "db", "start"])

    err = capsys.readouterr().err
    assert status == 2
    assert "PostgreSQL server not found" in err
    assert "hint: install the PostgreSQL server with contrib" in err
    assert "Traceback" not in err
    assert not (data_dir / "pg").exists()
