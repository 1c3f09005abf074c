"""``evedmv config show``: the settings in effect and where each comes from."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.output import hide_passwords
from evedmv_tui.config import Settings, default_config_file
from evedmv_tui.store.db import redact

NOT_SET = "not set"
"""The text output's word for a setting without a value (no DSN, no log file)."""
ALIGN_LIMIT = 48
"""Widest ``name = value`` whose source comment the others line up after."""


def register(subparsers: Any) -> None:
    config = subparsers.add_parser(
        "config",
        help="show the settings in effect and where each comes from",
        description="Show the settings in effect, such as the data directory"
        " and the ESI and R2Z2 URLs, and where each comes from: the config"
        " file, an environment variable, the command line or the default."
        " A DSN's password is shown as ***.",
        **examples(
            "evedmv config show",
            "EVEDMV_ESI_URL=http://127.0.0.1:8080 evedmv config show --json",
        ),
    )
    commands = config.add_subparsers(
        title="config commands", metavar="ACTION", required=True
    )
    show = commands.add_parser(
        "show",
        help="print each setting, its value and its source",
        description="Print each setting with its value and its source, one per"
        " line in TOML form, so that a line can be copied into the config"
        " file. The first line names the config file read.",
        **examples("evedmv config show", "evedmv --offline config show --json"),
    )
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=show_settings)


def shown_value(name: str, value: Any) -> Any:
    """Return ``value`` as it is shown: paths as text, a DSN's password hidden."""
    if value is None:
        return None
    if name == "dsn":
        return redact(value)
    if name.endswith("_url"):
        return hide_passwords(value)
    if isinstance(value, Path):
        return str(value)
    return value


def show_settings(args: argparse.Namespace, settings: Settings) -> int:
    """Print the settings in effect and their sources; return 0.

    ``args.setting_sources`` holds the source of each setting, which the
    command line's entry point sets when it loads them.
    """
    sources: dict[str, str] = args.setting_sources
    path = args.config or default_config_file()
    values = {
        field.name: shown_value(field.name, getattr(settings, field.name))
        for field in dataclasses.fields(Settings)
    }
    if args.json:
        document = {
            "config_file": str(path),
            "config_file_exists": path.exists(),
            "settings": {
                name: {"value": value, "source": sources[name]}
                for name, value in values.items()
            },
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return 0
    state = "read" if path.exists() else "not found"
    print(f"# config file: {path} ({state})")
    lines = [
        (
            f"{name} = {json.dumps(value)}"
            if value is not None
            else f"# {name} = ({NOT_SET})",
            sources[name],
        )
        for name, value in values.items()
    ]
    # Sources line up after the usual lengths; a longer line keeps its own.
    width = min(max(len(assignment) for assignment, _ in lines), ALIGN_LIMIT)
    for assignment, source in lines:
        print(f"{assignment:<{width}}  # {source}")
    return 0
