"""Pause Python's cyclic garbage collector while the dataset stage builds its million-object lists.

A Vertex-maximum refresh holds about two million long-lived objects (examples and their answer tuples)
that can never form a reference cycle. While they are being built, every few hundred allocations wake
the collector, and about a dozen of those wake-ups traverse everything built so far: a few percent of
the refresh for no garbage at all. Reference counting still frees everything as usual while the
collector is paused; the collector resumes (when it was enabled) as soon as the step ends, and then
finds any cyclic garbage made in between.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

__all__ = ["gc_paused", "with_gc_paused"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector for the ``with`` block; restore its previous state after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def with_gc_paused(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate ``function`` to run inside :func:`gc_paused`."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with gc_paused():
            return function(*args, **kwargs)

    return wrapper
