"""Watch profiles and their matches, the profile form, and match notifications.

Marked profiles (``x``) are enabled, disabled or deleted together in one
statement; with none marked, the key acts on the profile under the cursor.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

import psycopg
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from evedmv_tui.commands.arguments import isk_amount
from evedmv_tui.errors import EvedmvError, PermissionDenied
from evedmv_tui.intel import watch
from evedmv_tui.intel.watch import (
    NAME_FIELDS,
    Problem,
    ProfileSpec,
    WatchError,
    WatchMatch,
    WatchProfile,
)
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.store.connect import pooled_permission_denied
from evedmv_tui.store.db import Database, first_line
from evedmv_tui.widgets.ordered_input import OrderedInput
from evedmv_tui.widgets.perf_rows import Row, fit_last_cells
from evedmv_tui.widgets.status import KeyFooter
from evedmv_tui.widgets.table import KeyedTable, right
from evedmv_tui.widgets.text import format_isk, time_format, truncate

if TYPE_CHECKING:
    from evedmv_tui.app import EvedmvApp

log = logging.getLogger(__name__)

NOTIFY_INTERVAL = 10.0
"""Seconds between checks for matches recorded by other processes."""
NOTIFY_MAX_LISTED = 5
"""Matches named in one notification; more are counted."""

FORM_TEXT_WIDTH = 72
"""Columns of text inside the profile form: its width, less border and padding."""

ISK_EXAMPLES = "2.5b or 750m"
"""Amounts that the Min value placeholder and its error message both show."""

# Form fields: (ProfileSpec field, label, placeholder).
FORM_FIELDS = (
    ("name", "Name", "a short unique name"),
    ("character_ids", "Characters", "ids, comma-separated"),
    ("corporation_ids", "Corporations", "ids, comma-separated"),
    ("alliance_ids", "Alliances", "ids, comma-separated"),
    ("solar_system_ids", "Systems", "names or ids, comma-separated"),
    ("region_ids", "Regions", "names or ids, comma-separated"),
    ("ship_type_ids", "Ship types", "type ids, comma-separated"),
    ("ship_classes", "Ship classes", "e.g. capital,supercapital"),
    ("min_value", "Min value", f"ISK, such as {ISK_EXAMPLES}"),
    ("min_attackers", "Min attackers", "count"),
    ("max_attackers", "Max attackers", "count"),
)

SEARCHABLE_FIELDS = frozenset({"character_ids", "corporation_ids", "alliance_ids"})
"""Form fields whose ids the Search screen finds by name."""


def form_values(spec: ProfileSpec | None) -> dict[str, str]:
    """Return the form's text for each field of ``spec`` (empty for a new one)."""
    if spec is None:
        return {field: "" for field, _, _ in FORM_FIELDS}
    values = {}
    for field, _, _ in FORM_FIELDS:
        value = getattr(spec, field)
        if field in NAME_FIELDS:
            # Names not yet resolved, as when a save failed, stay as typed.
            value = (*value, *getattr(spec, NAME_FIELDS[field]))
        if isinstance(value, tuple):
            values[field] = ",".join(str(v) for v in value)
        elif value is None:
            values[field] = ""
        elif isinstance(value, float):
            values[field] = isk_text(value)
        else:
            values[field] = str(value)
    return values


ISK_UNITS = (("t", 1e12), ("b", 1e9), ("m", 1e6), ("k", 1e3))
"""The units the form's Min value takes, largest first."""


def isk_text(value: float) -> str:
    """Return ``value`` as the user would type it, such as 2.5b or 750m.

    The largest unit whose text reads back as exactly ``value`` is used,
    so the form saves the amount it shows; an amount that no unit gives
    exactly, or one below 1k, is shown in plain ISK.
    """
    for unit, scale in ISK_UNITS:
        if abs(value) < scale:
            continue
        number = repr(value / scale).removesuffix(".0")
        if "e" not in number and isk_amount(f"{number}{unit}") == value:
            return f"{number}{unit}"
    if value.is_integer():
        return f"{value:.0f}"
    return repr(value)


def read_form(
    values: dict[str, str], *, enabled: bool = True
) -> tuple[ProfileSpec, list[Problem]]:
    """Read the form's text into a profile, and list every problem of its fields.

    A field that cannot be read is left empty in the returned profile and
    gets a problem of its own. The other fields are still read and checked,
    so one save reports every problem. Place names and ship type ids are not
    looked up here (see :func:`evedmv_tui.intel.watch.unknown_references`).
    """
    changes: dict[str, object] = {"name": values["name"].strip(), "enabled": enabled}
    unreadable = []
    for field, label, _ in FORM_FIELDS[1:]:
        text = values.get(field, "").strip()
        try:
            changes.update(_read_field(field, text))
        except (ValueError, argparse.ArgumentTypeError):
            # What the field takes is its fix, which is left out before the
            # line itself when the lines do not fit.
            expected = _expected_text(field, label)
            unreadable.append(
                Problem(field, f"{text!r} is not valid", f"give {expected}")
            )
    spec = ProfileSpec(**changes)  # type: ignore[arg-type]
    problems = spec.problems()
    if unreadable:
        # An unreadable field is left empty, so "no conditions" may be false.
        problems = [p for p in problems if p.field] + unreadable
    order = {field: index for index, (field, _, _) in enumerate(FORM_FIELDS)}
    problems.sort(key=lambda p: order.get(p.field, len(order)))
    return spec, problems


def _read_field(field: str, text: str) -> dict[str, object]:
    """Return the profile fields that the text of form field ``field`` sets.

    Raises:
        ValueError, argparse.ArgumentTypeError: the text is not valid there.
    """
    if field == "ship_classes" or field.endswith("_ids"):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if text and not parts:
            # Commas alone would leave the condition out unnoticed.
            raise ValueError(f"no values in {text!r}")
        changes: dict[str, object] = {}
        if field in NAME_FIELDS:
            changes[NAME_FIELDS[field]] = tuple(p for p in parts if not p.isdigit())
            parts = [p for p in parts if p.isdigit()]
        convert = str if field == "ship_classes" else int
        changes[field] = tuple(convert(p) for p in parts)
        return changes
    if field == "min_value":
        return {field: isk_amount(text) if text else None}
    return {field: int(text) if text else None}


def _expected_text(field: str, label: str) -> str:
    """Return what form field ``field`` takes, for its error message."""
    if field in NAME_FIELDS:
        return f"{label.lower()} by name or id, separated by commas"
    if field in SEARCHABLE_FIELDS:
        # The global / key does not reach the Search screen while the form
        # is open, so the hint names the steps to get there.
        return (
            "whole-number ids separated by commas. To find an id, close"
            " the form with escape and press / to search by name"
        )
    if field.endswith("_ids"):
        return "whole-number ids separated by commas"
    if field == "ship_classes":
        return "ship classes separated by commas, such as capital,frigate"
    if field == "min_value":
        return f"an ISK amount such as {ISK_EXAMPLES}"
    return "a whole number"


def problem_lines(
    problems: Sequence[Problem], *, hinted: int | None = None
) -> list[str]:
    """Return one line per problem, led by its field's label in the form.

    The first ``hinted`` lines (every line when None) end with their
    problem's hint, unless an earlier line gave the same one already.
    """
    labels = {field: label for field, label, _ in FORM_FIELDS}
    lines = []
    given = set()
    for index, problem in enumerate(problems):
        line = f"{labels.get(problem.field, 'Profile')}: {problem.message}"
        hint = problem.hint
        wanted = hinted is None or index < hinted
        if wanted and hint and hint not in problem.message and hint not in given:
            line += f"; {hint}"
            given.add(hint)
        lines.append(line)
    return lines


def fitted_problem_lines(
    problems: Sequence[Problem], width: int, rows: int
) -> list[str]:
    """Return the problem lines that fit in ``rows`` rows of ``width`` columns.

    Hints are left out first, the last problems' first. When even the lines without
    hints do not fit, the last lines give way to one that counts them and
    names their fields.
    """

    def height(lines: Sequence[str]) -> int:
        return sum(len(textwrap.wrap(line, width)) or 1 for line in lines)

    for hinted in range(len(problems), -1, -1):
        lines = problem_lines(problems, hinted=hinted)
        if height(lines) <= rows:
            return lines
    for whole in range(len(lines) - 1, 0, -1):
        fitted = [*lines[:whole], more_problems_line(problems[whole:])]
        if height(fitted) <= rows:
            return fitted
    return [more_problems_line(problems)]


def more_problems_line(problems: Sequence[Problem]) -> str:
    """Return the line that stands for ``problems``, naming their fields."""
    labels = {field: label for field, label, _ in FORM_FIELDS}
    named = dict.fromkeys(labels.get(p.field, "Profile") for p in problems)
    noun = "problem" if len(problems) == 1 else "problems"
    return f"+{len(problems)} more {noun}: {', '.join(named)}"


def place_hint(problem: Problem) -> str:
    """Return the form's hint for a system or region name that is not stored.

    The Search screen finds systems by name, but the global / key does not
    reach it while the form is open, so the hint names the steps.
    """
    if problem.field != "solar_system_ids":
        return problem.hint
    return "check the spelling or give the id; escape, then / finds systems by name"


def parse_form(values: dict[str, str], *, enabled: bool = True) -> ProfileSpec:
    """Build a validated :class:`ProfileSpec` from form text.

    Raises:
        WatchError: a field is not a list of ids or a number, or the spec
            is invalid. The message has one line per problem, each led by
            its field's label.
    """
    spec, problems = read_form(values, enabled=enabled)
    if problems:
        raise WatchError(
            "invalid watch profile",
            "\n".join(problem_lines(problems)),
            problems[0].hint,
        )
    return spec


class FormInput(OrderedInput):
    """A field of the profile form; enter saves the form, as its footer shows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Save", id="watch_form.save"),
    ]


class ProfileForm(ModalScreen[ProfileSpec | None]):
    """Create or edit one watch profile."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="watch_form.cancel"),
    ]
    DEFAULT_CSS = """
    ProfileForm {
        align: center middle;
    }
    ProfileForm > Vertical {
        margin-top: 1;  /* the title bar stays in view above the form */
        width: 76;  /* FORM_TEXT_WIDTH plus border and padding */
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    ProfileForm Grid {
        grid-size: 2;
        grid-columns: 15 1fr;
        grid-rows: 1;
        height: auto;
    }
    ProfileForm Input, ProfileForm Input:focus {
        border: none;
        height: 1;
        padding: 0;
    }
    ProfileForm Input:focus {
        background: $boost;
    }
    ProfileForm Input.-has-problem {
        color: $text-error;
    }
    ProfileForm #form-error {
        color: $text-error;
        height: auto;
        overflow: hidden;
    }
    ProfileForm Horizontal {
        height: auto;
        align-horizontal: right;
    }
    ProfileForm Button {
        min-width: 10;
        margin-left: 1;
    }
    """

    def __init__(
        self,
        spec: ProfileSpec | None = None,
        *,
        editing: bool | None = None,
        error: str = "",
    ) -> None:
        """Open the form on ``spec``'s values, or empty.

        ``editing`` picks the title (default: whether ``spec`` is given), and
        ``error`` is shown under the fields, as when a save failed.
        """
        super().__init__()
        self.spec = spec
        self.editing = spec is not None if editing is None else editing
        self.error = error

    def compose(self) -> ComposeResult:
        values = form_values(self.spec)
        title = "Edit watch profile" if self.editing else "New watch profile"
        # The title sits in the border, leaving its row to the problems.
        with Vertical() as box:
            box.border_title = title
            with Grid():
                for field, label, placeholder in FORM_FIELDS:
                    yield Label(label)
                    yield FormInput(
                        values[field], placeholder=placeholder, id=f"form-{field}"
                    )
            yield Static(self.error, id="form-error", markup=False)
            with Horizontal():
                yield Button("Save", variant="primary", id="form-save", compact=True)
                yield Button("Cancel", id="form-cancel", compact=True)
        yield KeyFooter()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "form-save":
            self.action_save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        """Check every field, place names included, then close with the profile.

        All problems are listed at once under the fields. Place names and ship
        type ids are looked up in the database before the form closes, unless
        the app is disconnected, when the save reports them.
        """
        values = {
            field: self.query_one(f"#form-{field}", Input).value
            for field, _, _ in FORM_FIELDS
        }
        enabled = True if self.spec is None else self.spec.enabled
        spec, problems = read_form(values, enabled=enabled)
        db: Database | None = getattr(self.app, "db", None)
        if db is not None and (
            spec.system_names or spec.region_names or spec.ship_type_ids
        ):
            self.run_worker(
                self._check_references(db, spec, problems),
                group="watch_form.places",
                exclusive=True,
                exit_on_error=False,
            )
            return
        self._finish(spec, problems)

    async def _check_references(
        self, db: Database, spec: ProfileSpec, problems: list[Problem]
    ) -> None:
        try:
            found = await asyncio.to_thread(watch.unknown_references, db, spec)
            unknown = [dataclasses.replace(p, hint=place_hint(p)) for p in found]
        except (psycopg.Error, EvedmvError) as exc:
            # The save looks the names up again and reports its failure.
            log.warning(
                "looking up the places and types of %r failed: %s", spec.name, exc
            )
            unknown = []
        order = [field for field, _, _ in FORM_FIELDS]
        merged = sorted(
            [*problems, *unknown],
            key=lambda p: order.index(p.field) if p.field in order else len(order),
        )
        self._finish(spec, merged)

    def _finish(self, spec: ProfileSpec, problems: list[Problem]) -> None:
        """Close with ``spec``, or list ``problems`` and focus the first field."""
        if not problems:
            self.dismiss(spec)
            return
        error = self.query_one("#form-error", Static)
        # Rows around the problems: the title bar and the footer, then the
        # form's border, fields and buttons. Hints that would push the
        # buttons out of view are left out, then the last lines.
        room = max(1, self.app.size.height - 2 - (len(FORM_FIELDS) + 3))
        width = error.size.width or FORM_TEXT_WIDTH
        lines = fitted_problem_lines(problems, width, room)
        # Should the lines wrap into more rows than counted, they are cut
        # rather than the buttons.
        error.styles.max_height = room
        error.update("\n".join(lines))
        invalid = {problem.field for problem in problems}
        for field, _, _ in FORM_FIELDS:
            self.query_one(f"#form-{field}", Input).set_class(
                field in invalid, "-has-problem"
            )
        first = next((p.field for p in problems if p.field), "name")
        self.query_one(f"#form-{first}", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


DELETE_CONFIRM_SECONDS = 5.0
"""Seconds within which a second d confirms a delete; after that, d warns again."""


@dataclasses.dataclass(frozen=True, slots=True)
class WatchData:
    """The profiles, and the matches of the selected profile."""

    profiles: list[WatchProfile]
    matches: list[WatchMatch]


def load_watch_data(db: Database, profile_name: str | None) -> WatchData:
    profiles = watch.list_profiles(db)
    selected = next((p for p in profiles if p.name == profile_name), None)
    if selected is None and profiles:
        selected = profiles[0]
    matches = (
        watch.list_matches(
            db, profile_id=selected.profile_id, limit=200, by_kill_time=True
        )
        if selected
        else []
    )
    return WatchData(profiles, matches)


def save_profile(
    db: Database, original: str | None, spec: ProfileSpec
) -> str | PermissionDenied:
    """Store ``spec`` and return the notice of the save, or the error if the
    role may not write.

    The notice names the profile and, after an edit that changed the
    conditions, gives how many earlier matches were dropped. A denied write
    is returned rather than raised, because the app's failure handler would
    also show it as a notification over the form.
    """
    summary = None
    try:
        if original is None:
            watch.create_profile(db, spec)
        else:
            summary = watch.update_profile(db, original, spec).summary()
    except psycopg.errors.InsufficientPrivilege as exc:
        return pooled_permission_denied(db, exc)
    notice = f"Saved watch profile {spec.name}."
    if summary is not None:
        notice += f" {summary[0].upper()}{summary[1:]}."
    return notice


def change_profiles(
    db: Database, change: Callable[..., list[str]], *args: object
) -> list[str]:
    """Run ``change(db, *args)``; a denied write raises :class:`PermissionDenied`."""
    try:
        return change(db, *args)
    except psycopg.errors.InsufficientPrivilege as exc:
        error = pooled_permission_denied(db, exc)
        raise error.with_hint(dashboard_hint(error)) from None


def dashboard_hint(error: PermissionDenied) -> str:
    """Return the fix for a denied write, for a user of the dashboard.

    The command's hint speaks of running the command and of importing
    killmails, which the watch screen does not do.
    """
    if error.owner is None or error.grants is None:
        return error.hint or ""
    return (
        f"open the dashboard as role {error.owner}, or as {error.owner} run:"
        f" {error.grants}"
    )


def denied_text(error: PermissionDenied) -> str:
    """Return what the form shows when the role may not write the profiles."""
    hint = dashboard_hint(error)
    if error.grants is None or not error.privileges:
        return f"Not saved: {error.message}. Hint: {hint}."
    return (
        f"Not saved: role {error.role} may not write {error.relation}, because"
        f" it lacks {', '.join(error.privileges)}. {hint[0].upper()}{hint[1:]}."
        " Then press Enter to save again."
    )


@dataclasses.dataclass
class WatchMatchesFound(Message):
    """Posted to each open watch screen when new matches are announced."""


PROFILE_COLUMNS = (
    ("mark", " "),
    ("state", "On"),
    ("name", "Name"),
    ("matches", "Matches"),
    ("last", "Last match"),
    ("conditions", "Conditions"),
)


class WatchScreen(DashboardScreen):
    """Watch profiles, their matches, and the keys that change them."""

    TITLE = "Watch profiles"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="watch.add"),
        Binding("e", "edit", "Edit", id="watch.edit"),
        Binding("x", "mark", "Mark row", id="watch.mark"),
        Binding("space", "switch", "On/off", id="watch.switch"),
        Binding("d", "delete", "Delete", id="watch.delete"),
        Binding("r", "reload", "Reload", id="watch.reload"),
    ]
    DEFAULT_CSS = """
    WatchScreen #watch-profiles {
        height: 1fr;
    }
    WatchScreen #watch-matches {
        height: 1fr;
    }
    WatchScreen .pane-title {
        height: 1;
        padding: 0 1;
        text-style: bold;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.profiles: list[WatchProfile] = []
        self.match_killmails: dict[str, int] = {}
        """Killmail id of each row of the match table, by row key."""
        self.marked: set[str] = set()
        self.selected: str | None = None
        self.confirm_delete: tuple[str, ...] = ()
        self._profile_rows: list[Row] = []
        self._confirm_until = 0.0
        """Monotonic time until which a second d deletes ``confirm_delete``."""

    def compose_body(self) -> ComposeResult:
        yield Static(
            "Profiles", classes="pane-title", id="profiles-title", markup=False
        )
        yield KeyedTable(list(PROFILE_COLUMNS), id="watch-profiles")
        # The title names the selected profile, which is user text.
        yield Static("Matches", classes="pane-title", id="matches-title", markup=False)
        yield KeyedTable(
            [
                ("time", "Time (UTC)"),
                ("killmail", "Killmail"),
                ("profile", "Profile"),
                ("value", "Value"),
            ],
            id="watch-matches",
        )

    def load_data(self) -> None:
        self.run_query(load_watch_data, self.selected, then=self.show_data)

    def show_data(self, data: WatchData) -> None:
        self.profiles = data.profiles
        names = {p.name for p in data.profiles}
        self.marked &= names
        if self.selected not in names:
            self.selected = data.profiles[0].name if data.profiles else None
        last = time_format(p.last_match for p in data.profiles if p.last_match)
        self._profile_rows = [
            (
                profile.name,
                [
                    "x" if profile.name in self.marked else "",
                    "on" if profile.enabled else "off",
                    truncate(profile.name, 20),
                    profile.matches,
                    profile.last_match.strftime(last) if profile.last_match else "",
                    profile.describe(),
                ],
            )
            for profile in data.profiles
        ]
        self._show_profile_rows()
        if not data.profiles:
            self.query_one("#profiles-title", Static).update(
                "Profiles: none yet, press a to add one"
            )
        else:
            self.query_one("#profiles-title", Static).update(
                f"Profiles: {len(data.profiles)}, {len(self.marked)} marked"
                " for space and d (x marks the one under the cursor)"
            )
        title = f"Matches of {self.selected}" if self.selected else "Matches"
        if self.selected and not data.matches:
            # Import batches check new killmails only; the backfill command
            # matches the stored ones.
            title += ": none yet (stored kills: evedmv watch backfill)"
        self.query_one("#matches-title", Static).update(title)
        self.match_killmails = {str(m.match_id): m.killmail_id for m in data.matches}
        self.query_one("#watch-matches", KeyedTable).update_rows(
            (
                match.match_id,
                [
                    f"{match.killmail_time:%Y-%m-%d %H:%M}",
                    # Plain as on the killmail screen, because int cells get commas.
                    right(str(match.killmail_id)),
                    truncate(match.profile_name, 20),
                    right(format_isk(match.total_value)),
                ],
            )
            for match in data.matches
        )

    def _show_profile_rows(self) -> None:
        """Fill the profiles table, cutting the conditions with ``…`` to fit.

        DataTable crops a cell at the table's edge with no mark. A wider
        terminal shows more of each profile's conditions.
        """
        table = self.query_one("#watch-profiles", KeyedTable)
        width = self.size.width - table.styles.scrollbar_size_vertical
        current_widths = [column.content_width for column in table.ordered_columns]
        table.update_rows(
            fit_last_cells(
                self._profile_rows,
                PROFILE_COLUMNS,
                width,
                table.cell_padding,
                shown_widths=current_widths,
            )
        )

    def on_resize(self, event: events.Resize) -> None:
        # Textual calls DashboardScreen's handler too, which checks the size.
        if self._profile_rows:
            self._show_profile_rows()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "watch-profiles" or event.row_key.value is None:
            return
        name = str(event.row_key.value)
        if name != self.selected:
            self.selected = name
            self.load_data()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "watch-matches":
            return
        killmail_id = self.match_killmails.get(str(event.row_key.value))
        if killmail_id is not None:
            self.evedmv_app.open_screen("killmail", killmail_id)

    def _targets(self) -> list[str]:
        if self.marked:
            return sorted(self.marked)
        return [self.selected] if self.selected else []

    def _profile(self, name: str | None) -> WatchProfile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def action_add(self) -> None:
        self.confirm_delete = ()
        self.app.push_screen(ProfileForm(), lambda spec: self._save(None, spec))

    def action_edit(self) -> None:
        self.confirm_delete = ()
        profile = self._profile(self.selected)
        if profile is None:
            self.notify("No profile selected.", severity="warning")
            return
        self.app.push_screen(
            ProfileForm(profile.named_spec()),
            lambda spec: self._save(profile.name, spec),
        )

    def _save(self, original: str | None, spec: ProfileSpec | None) -> None:
        if spec is None:
            return
        self.selected = spec.name
        self.run_query(
            save_profile,
            original,
            spec,
            then=lambda result: self._saved(original, spec, result),
            group="write",
            on_error=lambda error: self._save_failed(original, spec, error),
        )

    def _save_failed(
        self, original: str | None, spec: ProfileSpec, error: Exception
    ) -> None:
        """Open the form again with what was typed, so a failed save loses nothing."""
        from evedmv_tui.app import is_connection_error

        message = getattr(error, "message", None) or first_line(error)
        if isinstance(error, PermissionDenied):
            self._reopen_form(original, spec, denied_text(error))
            return
        if isinstance(error, WatchError):
            advice = "Correct it and press Enter to save."
            if error.hint and error.hint not in error.message:
                advice = f"{error.hint[0].upper()}{error.hint[1:]}. {advice}"
        elif is_connection_error(error):
            advice = (
                "Press Enter to try again, for example once the status bar"
                " shows the database connected."
            )
        else:
            # Waiting for a connection would not help: the server refused
            # these values.
            advice = "Correct the fields and press Enter to save again."
        self._reopen_form(original, spec, f"Not saved: {message}. {advice}")

    def _reopen_form(self, original: str | None, spec: ProfileSpec, error: str) -> None:
        self.app.push_screen(
            ProfileForm(spec, editing=original is not None, error=error),
            lambda retry: self._save(original, retry),
        )

    def _saved(
        self, original: str | None, spec: ProfileSpec, result: str | PermissionDenied
    ) -> None:
        if isinstance(result, PermissionDenied):
            self._save_failed(original, spec, result)
            return
        self.notify(result, markup=False)
        self.load_data()

    def action_mark(self) -> None:
        self.confirm_delete = ()
        if self.selected is None:
            return
        self.marked ^= {self.selected}
        self.load_data()

    def action_switch(self) -> None:
        self.confirm_delete = ()
        targets = self._targets()
        if not targets:
            return
        # Marked profiles all take the opposite of the first one's state.
        first = self._profile(targets[0])
        enable = first is not None and not first.enabled
        self.run_query(
            change_profiles,
            watch.set_enabled,
            targets,
            enable,
            then=self._changed,
            group="write",
        )

    def action_delete(self) -> None:
        targets = tuple(self._targets())
        if not targets:
            return
        expired = time.monotonic() > self._confirm_until
        if self.confirm_delete != targets or expired:
            self.confirm_delete = targets
            self._confirm_until = time.monotonic() + DELETE_CONFIRM_SECONDS
            matches = "its matches" if len(targets) == 1 else "their matches"
            self.notify(
                f"Press d again within {DELETE_CONFIRM_SECONDS:.0f} s to delete"
                f" {', '.join(targets)} and {matches}.",
                severity="warning",
                markup=False,
                timeout=DELETE_CONFIRM_SECONDS,
            )
            return
        self.confirm_delete = ()
        self.marked.clear()
        self.run_query(
            change_profiles,
            watch.delete_profiles,
            list(targets),
            then=self._changed,
            group="write",
        )

    def _changed(self, names: list[str]) -> None:
        self.load_data()

    def action_reload(self) -> None:
        self.load_data()

    def on_watch_matches_found(self, message: WatchMatchesFound) -> None:
        """Reload counts and matches. The tables keep cursor and scroll by row key."""
        message.stop()
        if self.evedmv_app.db is not None:
            self.load_data()


class WatchNotifier:
    """Raises a dashboard notification for each batch of new watch matches.

    Matches recorded by this process (the live feed) arrive through a
    :func:`evedmv_tui.intel.watch.add_listener` callback; matches recorded by
    another process (``evedmv import``) are found by polling for match ids
    above the newest one seen.
    """

    def __init__(self, app: EvedmvApp) -> None:
        self.app = app
        self.last_match_id: int | None = None
        self._started = False

    def start(self) -> None:
        """Begin notifying; call on the UI thread once the database is open."""
        if self._started:
            return
        self._started = True
        watch.add_listener(self._from_this_process)
        self._poll()

    def stop(self) -> None:
        watch.remove_listener(self._from_this_process)

    def _from_this_process(self, matches: Sequence[WatchMatch]) -> None:
        if not self.app.is_running:
            self.stop()
            return
        self.app.call_from_thread(self.announce, list(matches))

    def _poll(self) -> None:
        self.app.run_worker(
            self._check, thread=True, group="watch.notify", exit_on_error=False
        )

    def _check(self) -> None:
        db = self.app.db
        try:
            if db is not None:
                matches = self.fetch_new(db)
                if matches:
                    self.app.call_from_thread(self.announce, matches)
        except Exception as exc:  # a lost connection is the app's to report
            log.debug("watch match poll failed: %s", exc)
        finally:
            self._rearm()

    def _rearm(self) -> None:
        if not self.app.is_running:
            self.stop()
            return
        try:
            self.app.call_from_thread(self.app.set_timer, NOTIFY_INTERVAL, self._poll)
        except RuntimeError:  # the app stopped between the check and the call
            self.stop()

    def fetch_new(self, db: Database) -> list[WatchMatch]:
        """Return matches recorded since the last call; the first call sets the mark."""
        if self.last_match_id is None:
            newest = watch.list_matches(db, limit=1)
            self.last_match_id = newest[0].match_id if newest else 0
            return []
        matches = watch.list_matches(db, after=self.last_match_id, limit=100)
        return matches

    def announce(self, matches: list[WatchMatch]) -> None:
        """Notify about ``matches`` not announced before."""
        fresh = [m for m in matches if m.match_id > (self.last_match_id or 0)]
        if not fresh:
            return
        self.last_match_id = max(m.match_id for m in fresh)
        lines = [
            f"{m.profile_name}: killmail {m.killmail_id}, {format_isk(m.total_value)}"
            for m in sorted(fresh, key=lambda m: m.match_id)[:NOTIFY_MAX_LISTED]
        ]
        if len(fresh) > NOTIFY_MAX_LISTED:
            lines.append(f"and {len(fresh) - NOTIFY_MAX_LISTED} more")
        noun = "match" if len(fresh) == 1 else "matches"
        self.app.notify(
            "\n".join(lines),
            title=f"{len(fresh)} watch {noun}",
            markup=False,
            timeout=10,
        )
        for screen in self.app.screen_stack:
            if isinstance(screen, WatchScreen):
                screen.post_message(WatchMatchesFound())


def start_watch_notifications(app: EvedmvApp) -> WatchNotifier:
    """Start notifying about new watch matches for the life of ``app``.

    Polling skips its turn while the app is disconnected, so this may be
    called before the database is open.
    """
    notifier = WatchNotifier(app)
    notifier.start()
    return notifier
