"""Open the dashboard (``evedmv`` with no command)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App

from evedmv_tui.config import Settings
from evedmv_tui.logfile import warnings_held

T = TypeVar("T")

_thread_numbers = itertools.count(1)


class DaemonThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """Run each call in a daemon thread of its own, in place of a pool.

    The dashboard's thread workers run in the event loop's default executor.
    A ThreadPoolExecutor's threads are joined when the loop closes and again
    when the interpreter exits, so a quit waited for a worker blocked on a
    server that does not respond: a connection attempt (up to its 10 s
    timeout), an ESI request (15 s), an EXPLAIN ANALYZE (30 s). By then the
    dashboard has closed its connections and has nothing left to keep from
    those threads, so daemon threads let the process end at once.

    It subclasses ThreadPoolExecutor only because asyncio takes nothing else
    as a default executor; it keeps no pool and no queue.
    """

    def __init__(self, name: str = "evedmv-worker") -> None:
        super().__init__(max_workers=1, thread_name_prefix=name)
        self._name = name

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        thread = threading.Thread(
            target=run, name=f"{self._name}-{next(_thread_numbers)}", daemon=True
        )
        thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Return at once: the threads are left to end with the process."""


def run_app(app: App[Any], **options: Any) -> None:
    """Run ``app`` on an event loop whose thread workers never delay the exit.

    ``options`` go to :meth:`textual.app.App.run_async`.
    """

    def new_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(DaemonThreadExecutor())
        return loop

    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(app.run_async(**options))


def run_dashboard(settings: Settings) -> int:
    """Run the Textual dashboard until the user quits; return the exit status.

    Raises:
        EvedmvError: the first database connection failed; the caller prints
            it on stderr and exits with its status.
    """
    from evedmv_tui.app import EvedmvApp

    app = EvedmvApp(settings)
    with warnings_held(logging.getLogger("evedmv_tui")):
        run_app(app, mouse=settings.mouse)
    if app.startup_error is not None:
        raise app.startup_error
    return app.return_code or 0
