"""A polling thread for callers without Textual (report commands, benchmarks)."""

from __future__ import annotations

import logging
import threading

from evedmv_tui.monitor.poller import Monitor

log = logging.getLogger(__name__)


class MonitorLoop:
    """Runs :meth:`Monitor.poll` in a daemon thread on a re-armed one-shot delay."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="evedmv-monitor", daemon=True
        )
        self._thread.start()

    def poll_now(self) -> None:
        """End the current wait so the next poll starts at once."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.monitor.paused:
                try:
                    self.monitor.poll()
                except Exception:
                    log.exception("monitor poll failed")
            self._wake.wait(self.monitor.next_delay())
            self._wake.clear()
