"""A graceful stop of a running evaluation: stop asking, keep what is paid for, then fail.

Airflow 3 stops a task by sending its process SIGTERM; the task runner's own handler only calls the
operator's ``on_kill()`` and returns, and the supervisor sends SIGKILL a few seconds later
(``escalation_delay``, 5 s). :func:`stop_on_signals` turns those signals into a :class:`StopRequest`
the runner watches: it asks no new question, gives the requests in flight a short grace period to
answer, saves every answer in hand and raises :class:`EvaluationInterrupted`. The previous handler
(Airflow's) is still called. No Airflow import: this is plain ``signal`` and ``asyncio``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

__all__ = ["StopRequest", "stop_on_signals"]


class StopRequest:
    """A thread- and signal-safe flag the runner's event loop can wait on."""

    def __init__(self) -> None:
        self._requested = threading.Event()
        self.reason = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def request(self, reason: str) -> None:
        """Ask the run to stop (callable from a signal handler or another thread)."""
        if not self._requested.is_set():
            self.reason = reason
        self._requested.set()
        loop, event = self._loop, self._event
        if loop is not None and event is not None:
            # wakes the loop even while it sleeps in select()
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(event.set)

    def bind(self) -> None:
        """Attach to the running event loop (call from inside it, before :meth:`wait`)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        if self._requested.is_set():
            self._event.set()

    async def wait(self) -> None:
        """Return once a stop was requested."""
        if self._event is None:
            self.bind()
        assert self._event is not None
        await self._event.wait()


@contextlib.contextmanager
def stop_on_signals(stop: StopRequest, signals: Sequence[int]) -> Iterator[StopRequest]:
    """While inside, each of ``signals`` requests ``stop`` and then calls the handler it replaced.

    Signal handlers can only be set from the main thread; elsewhere this does nothing (the run then
    stops only by being killed, losing at most the answers in flight).
    """
    if not signals or threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.request(f"received {signal.Signals(signum).name}")
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, frame)

    for signum in signals:
        previous[signum] = signal.signal(signum, handle)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
