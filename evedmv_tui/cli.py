"""The ``evedmv`` command: global options, logging and subcommand dispatch.

Each module in :data:`COMMAND_MODULES` adds its subcommands through a
``register(subparsers)`` function; every subcommand sets ``handler``, a
function ``(args, settings) -> exit status``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from evedmv_tui import __version__
from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.output import (
    OutputFailed,
    PrintableStream,
    flushed_stdout,
    hide_passwords,
    printable,
    printable_stdout,
    stdout_failed,
    write_json_error,
)
from evedmv_tui.config import Settings, load_settings_with_sources
from evedmv_tui.errors import ConfigError, EvedmvError
from evedmv_tui.logfile import LogFileHandler

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

log = logging.getLogger("evedmv_tui")

COMMAND_MODULES = (
    "evedmv_tui.commands.db",
    "evedmv_tui.commands.ingest",
    "evedmv_tui.commands.intel",
    "evedmv_tui.commands.follow",
    "evedmv_tui.commands.battles",
    "evedmv_tui.commands.sde",
    "evedmv_tui.commands.prices",
    "evedmv_tui.commands.generate",
    "evedmv_tui.commands.demo",
    "evedmv_tui.commands.regressions",
    "evedmv_tui.commands.performance",
    "evedmv_tui.commands.settings",
)


class UsageExit(SystemExit):
    """The exit of an argument parser that rejected the command line."""

    def __init__(self, code: str | int | None, error: ConfigError) -> None:
        super().__init__(code)
        self.error = error
        """The rejection as an error, for the JSON output that ``--json`` requests."""


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose usage errors keep their message.

    Subcommand parsers are of the same class, because ``add_subparsers``
    makes them of the class of the parser it is called on.
    """

    def error(self, message: str) -> NoReturn:
        try:
            super().error(message)
        except SystemExit as exc:
            error = ConfigError(
                "invalid arguments",
                f"{self.prog}: {message}",
                f"see '{self.prog} --help'",
            )
            raise UsageExit(exc.code, error) from None

    def _print_message(
        self, message: str, file: SupportsWrite[str] | None = None
    ) -> None:
        """Write ``message``, letting a failed write to standard output raise.

        Argparse drops write errors, so ``--help`` or ``--version`` sent to a
        full disk exited with status 0. Usage errors on standard error keep
        that behaviour, as there is nowhere left to report a failure.
        """
        stream = file or sys.stderr
        if stream is not sys.stdout:
            super()._print_message(message, file)
        elif message:
            stream.write(message)


def asks_for_json(argv: Sequence[str]) -> bool:
    """Tell whether ``argv`` has ``--json`` or ``--format json`` before any ``--``.

    NOTE: an abbreviation such as ``--js``, which argparse accepts, is not
    recognized.
    """
    for index, token in enumerate(argv):
        if token == "--":
            return False
        if token in ("--json", "--format=json"):
            return True
        if token == "--format" and argv[index + 1 : index + 2] == ["json"]:
            return True
    return False


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="evedmv",
        description="EVE Online killmail intelligence and PostgreSQL performance"
        " dashboard. With no command, opens the dashboard.",
        **examples(
            "evedmv demo                  # load demo data and open the dashboard",
            "evedmv import kills.jsonl    # import killmails",
            "evedmv import --help         # help of one command, with examples",
        ),
    )
    parser.add_argument("--version", action="version", version=f"evedmv {__version__}")
    parser.add_argument(
        "--dsn",
        help="connection string of an existing PostgreSQL server (env EVEDMV_DSN);"
        " without it a private cluster under the data directory is used",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="directory for the private cluster and local state"
        " (env EVEDMV_DATA_DIR; default $XDG_DATA_HOME/evedmv)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML settings file (default $XDG_CONFIG_HOME/evedmv/config.toml)",
    )
    parser.add_argument(
        "--log-file", type=Path, help="write the log to this file (env EVEDMV_LOG_FILE)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output (-vv: debug)",
    )
    parser.add_argument(
        "--no-mouse",
        action="store_true",
        help="do not capture the mouse in the dashboard",
    )
    # A dest of its own: subcommands have an --offline of their own, and a
    # subparser's defaults replace the main parser's values of the same dest.
    parser.add_argument(
        "--offline",
        dest="global_offline",
        action="store_true",
        help="never contact ESI or zKillboard, in the dashboard and every"
        " command (env EVEDMV_OFFLINE=1): names not stored stay unresolved,"
        " killmails without a body stay pending, and 'follow' is refused",
    )
    parser.set_defaults(handler=None)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def configure_logging(settings: Settings, *, to_stderr: bool) -> None:
    """Log to the log file if set, else to stderr unless the dashboard owns it.

    Raises:
        OSError: the log file cannot be opened, for example in a missing folder.
    """
    level = logging.WARNING - 10 * min(settings.verbose, 2)
    root = logging.getLogger("evedmv_tui")
    root.setLevel(level)
    root.handlers.clear()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: logging.Handler
    if settings.log_file is not None:
        # A missing folder raises FileNotFoundError, which main() reports with
        # the path: creating it here would hide a mistyped path.
        handler = LogFileHandler(settings.log_file)
    elif to_stderr:
        handler = logging.StreamHandler(sys.stderr)
        formatter = logging.Formatter("evedmv: %(levelname)s: %(message)s")
    else:
        handler = logging.NullHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    # psycopg and its pool log each failed reconnection as a warning, which
    # Python's last-resort handler would print in full for every attempt.
    # Commands report a lost server themselves, so the library's records
    # show only with -v, and then through the same handler.
    library = logging.getLogger("psycopg")
    library.handlers.clear()
    library.addHandler(handler)
    library.propagate = False
    library.setLevel(logging.WARNING if settings.verbose else logging.ERROR)


def check_dsn(dsn: str | None, source: str = "the settings") -> None:
    """Raise ConfigError unless ``dsn`` is None or a libpq connection string.

    ``source`` names where the DSN came from. The message never shows its
    password, whether libpq can parse the DSN or not.
    """
    if dsn is None:
        return
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        reason = hide_passwords(str(exc).splitlines()[0])
        raise ConfigError(
            "invalid DSN",
            f"{hide_passwords(repr(dsn))} from {source} is not a connection"
            f" string: {reason}",
            "give a libpq string such as 'postgresql://user@host/db' or"
            " 'host=/run/postgresql dbname=evedmv'",
        ) from None


def conninfo_of(settings: Settings) -> str:
    """Return the DSN of the database that commands use, starting nothing."""
    if settings.dsn:
        return settings.dsn
    from evedmv_tui.store.cluster import PrivateCluster

    return PrivateCluster(settings.data_dir).url()


KILLMAIL_IMPORT_HANDLERS = frozenset(
    {
        "evedmv_tui.commands.demo.demo_command",
        "evedmv_tui.commands.follow.follow_command",
        "evedmv_tui.commands.ingest.run_import",
    }
)
"""Command handlers that import killmails, as ``module.function``. They
create the partitions of a month not stored yet, which only the owner of
the killmail tables may do."""


def imports_killmails(handler: Callable[..., Any]) -> bool:
    """Tell whether the command that ``handler`` runs imports killmails."""
    return f"{handler.__module__}.{handler.__qualname__}" in KILLMAIL_IMPORT_HANDLERS


def interrupted() -> int:
    """Report a Ctrl-C on standard error and return the shell's status for it."""
    print("evedmv: interrupted", file=sys.stderr)
    return 130


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stdout is None:
        # Started with standard output closed ('evedmv ... >&-'): Python
        # then has no sys.stdout, and every print would fail.
        if sys.stderr is not None:
            print(
                "evedmv: write failed: standard output is closed\n"
                "hint: run it with standard output open, or send it to a file"
                " or to /dev/null",
                file=sys.stderr,
            )
        return 2
    try:
        # Building the parser imports every command's module, which takes
        # up to about a second: long enough for a Ctrl-C to land in it.
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        return interrupted()
    except UsageExit as exc:
        # Argparse has printed the usage and the error on stderr.
        if asks_for_json(sys.argv[1:] if argv is None else argv):
            write_json_error(exc.error, sys.stdout)
        raise
    except SystemExit as exc:
        # Argparse has printed the help or the version.
        if exc.code in (0, None):
            return flushed_stdout(0)
        raise
    except OSError as exc:
        # The help or the version could not be written.
        return stdout_failed(exc)
    stdout: PrintableStream | None = None
    try:
        if args.config is not None and not args.config.is_file():
            raise ConfigError(
                "config file not found",
                f"{args.config} is not a file",
                "give the path of a TOML file, or leave --config out",
            )
        settings, sources = load_settings_with_sources(
            {
                "dsn": args.dsn,
                "data_dir": args.data_dir,
                "log_file": args.log_file,
                "verbose": args.verbose or None,
                "mouse": False if args.no_mouse else None,
                "offline": True if args.global_offline else None,
            },
            config_file=args.config,
        )
        check_dsn(settings.dsn, sources["dsn"])
        # For 'config show', which prints where each setting came from.
        args.setting_sources = sources
        handler = args.handler
        if handler is None:
            from evedmv_tui.commands.dashboard import run_dashboard

            configure_logging(settings, to_stderr=False)
            return run_dashboard(settings)
        configure_logging(settings, to_stderr=True)
        import psycopg

        from evedmv_tui.commands import writes_database
        from evedmv_tui.store.connect import (
            WRITING_COMMAND,
            connection_lost,
            is_connection_failure,
            permission_denied,
        )

        writing = WRITING_COMMAND.set(writes_database(handler))
        try:
            with printable_stdout() as stdout:
                status = int(handler(args, settings))
            return flushed_stdout(status)
        except psycopg.OperationalError as exc:
            # The server stopped, restarted or refused the connection during
            # the command. Failed queries (a lock timeout, a full disk) keep
            # their traceback.
            if not is_connection_failure(exc):
                raise
            log.debug("connection failed", exc_info=True)
            raise connection_lost(exc, settings) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            # For example, a --dsn role that may read the tables but not write them.
            log.debug("permission denied", exc_info=True)
            raise permission_denied(
                exc, conninfo_of(settings), imports_killmails=imports_killmails(handler)
            ) from None
        finally:
            WRITING_COMMAND.reset(writing)
    except EvedmvError as exc:
        # Messages can quote paths and values from the command line or files.
        text = "\n".join(printable(line) for line in exc.render().split("\n"))
        print(f"evedmv: {text}", file=sys.stderr)
        if getattr(args, "json", False) and not (stdout and stdout.written):
            write_json_error(exc, sys.stdout)
        return exc.exit_code
    except KeyboardInterrupt:
        return interrupted()
    except OutputFailed as exc:
        # The reader of standard output went away (as 'evedmv ... | head'
        # does), or the disk it goes to is full.
        return stdout_failed(exc.cause)
    except BrokenPipeError as exc:
        # A write that bypassed the printable stream.
        return stdout_failed(exc)
    except OSError as exc:
        # A file named on the command line (a log file, an output) cannot be
        # opened. Other OS errors keep their traceback.
        if exc.filename is None:
            raise
        log.debug("file error", exc_info=True)
        error = ConfigError(
            "cannot use a file",
            f"{exc.filename}: {exc.strerror}",
            "give a path you can read or write, in an existing folder",
        )
        # The path comes from the command line and may hold anything.
        text = "\n".join(printable(line) for line in error.render().split("\n"))
        print(f"evedmv: {text}", file=sys.stderr)
        if getattr(args, "json", False) and not (stdout and stdout.written):
            write_json_error(error, sys.stdout)
        return error.exit_code
