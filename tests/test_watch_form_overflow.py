"""The watch profile form at 80x24 keeps its buttons and the title bar in
view, and accounts for every problem, however many fields are wrong."""

from __future__ import annotations

from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.watch import FORM_FIELDS, ProfileForm
from evedmv_tui.store.db import Database
from tests.test_watch_form_fixes import error_lines, save_form, store_jita
from tests.test_watch_screen_keys import open_watch, settle

WRONG = {
    "name": "t1",
    "character_ids": "abc",
    "corporation_ids": "-5",
    "alliance_ids": "99003214",
    "solar_system_ids": "Jitaa, Nowhere",
    "region_ids": "Delv",
    "ship_type_ids": "99999999999999999999999",
    "ship_classes": "titan,bogus",
    "min_value": "lots",
    "min_attackers": "-1",
    "max_attackers": "0",
}
"""Every field but the name and the alliances is wrong."""


def screen_rows(app: EvedmvApp) -> list[str]:
    """Return the text of each row of the screen, the form over the one below."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


async def test_many_problems_keep_the_buttons_in_view(
    settings: Settings, db: Database
) -> None:
    """With ten fields wrong the form grew past 24 rows: it covered the title
    bar, hid Save and Cancel, and dropped the attacker count problems."""
    store_jita(db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        title_bar = screen_rows(app)[0]
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        await save_form(app, pilot, WRONG)
        assert app.screen is form

        rows = screen_rows(app)
        assert len(rows) == 24
        assert rows[0] == title_bar
        assert "╭" in rows[1]
        buttons = [row for row in rows if "Save" in row and "Cancel" in row]
        # The footer names the keys too; the buttons sit in the box.
        assert any("│" in row for row in buttons), "\n".join(rows)
        assert "╰" in rows[-2]

        lines = error_lines(form)
        text = " ".join(" ".join(lines).split())
        labels = {field: label for field, label, _ in FORM_FIELDS}
        invalid = [field for field in WRONG if field not in {"name", "alliance_ids"}]
        # Each wrong field has a line of its own or is named in the last one.
        more = lines[-1]
        assert more.startswith("+"), lines
        for field in invalid:
            assert f"{labels[field]}:" in text or labels[field] in more, field
        for field in ("min_attackers", "max_attackers"):
            assert labels[field] in more
        for line in lines:
            assert line in text or " ".join(line.split()) in text
        # Every line is shown in full, with no row cut off.
        screen_text = " ".join(" ".join(rows).replace("│", " ").split())
        assert " ".join(more.split()) in screen_text

        for field, _, _ in FORM_FIELDS:
            marked = form.query_one(f"#form-{field}", Input).has_class("-has-problem")
            assert marked == (field in invalid), field


async def test_fixes_give_way_before_lines(settings: Settings, db: Database) -> None:
    """What an unreadable field takes was part of its line, not its fix, so
    it stayed while the attacker count lines went missing."""
    typed = {
        "name": "t2",
        "character_ids": "abc",
        "corporation_ids": "-5",
        "ship_type_ids": "99999999999999999999999",
        "ship_classes": "bogus",
        "min_value": "lots",
        "min_attackers": "-1",
        "max_attackers": "0",
    }
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        await save_form(app, pilot, typed)
        lines = error_lines(form)
        labels = [label for field, label, _ in FORM_FIELDS if field in typed]
        assert [line.split(":")[0] for line in lines] == labels[1:]
        assert lines[0] == "Characters: 'abc' is not valid"
        rows = screen_rows(app)
        buttons = next(i for i, row in enumerate(rows) if "Save" in row and "│" in row)
        assert rows[buttons - 1].replace("│", "").strip() == lines[-1]
        assert "╰" in rows[buttons + 1]
