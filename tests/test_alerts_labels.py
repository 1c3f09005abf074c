"""Statement texts in the Alerts table, at the widths SSH users have."""

from __future__ import annotations

import random
import time

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.screens.alerts import AlertsScreen
from evedmv_tui.widgets.table import KeyedTable
from tests.test_alerts import SLOW, settle, wait_for_center

LONG_LABEL = (
    "select count(*) from t7work where owner_id = $1 and state = any($2)"
    " and updated_at > now() - interval '1 day'"
)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_cut_statement_ends_with_ellipsis(
    settings: Settings, size: tuple[int, int]
) -> None:
    """A statement text too long for the table was cut mid-word at the
    screen's edge ("from t7work wher"), with no sign that text was missing."""
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        center = await wait_for_center(app, pilot)
        rng = random.Random(1)
        at = time.time() - 200.0
        for value in [10.0] * 40 + [300.0] * 4:
            at += 2.0
            sample = Sample(
                SLOW, value * (1 + rng.uniform(-0.03, 0.03)), at, 2.0, True, LONG_LABEL
            )
            await center.observe([sample])
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, AlertsScreen)
        table = app.screen.query_one(KeyedTable)
        [key] = table.row_keys
        label = str(table.get_row(key)[-1])
        assert label.endswith("…")
        assert LONG_LABEL.startswith(label.removesuffix("…"))
        row_width = sum(
            column.get_render_width(table) for column in table.ordered_columns
        )
        # The last column's right padding may fall past the edge, its text not.
        assert row_width - 1 <= table.size.width
