"""How reader processes hand their records to the importer."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from evedmv_tui.ingest.parallel import READER_SWITCH_INTERVAL, tune_reader_process


@pytest.fixture
def restored_tuning() -> Iterator[None]:
    threshold = gc.get_threshold()
    interval = sys.getswitchinterval()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored_tuning")
def test_reader_tuning_shortens_switch_interval() -> None:
    """With the default 5 ms switch interval, the decompressing thread of a
    reader process waited for the GIL after each block of output while the
    parsing thread ran, which made reading an archive slower than its
    decompression alone."""
    sys.setswitchinterval(0.005)
    tune_reader_process()
    assert sys.getswitchinterval() == pytest.approx(READER_SWITCH_INTERVAL)
    assert READER_SWITCH_INTERVAL < 0.001
    assert gc.get_threshold()[0] == 50_000
