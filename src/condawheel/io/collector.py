"""Pause Python's cyclic garbage collector around work that allocates much and frees little.

Reading a whole channel's listing, or analysing, planning and writing a package of
30,000 files, allocates hundreds of thousands of objects that live on, none of them in
a reference cycle. The collector's generational passes walk them all again and again:
they took half of a listing's time and a third of a conversion's planning. Reference
counting still frees everything else at once; cycles made meanwhile wait for the end.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["cyclic_gc_paused"]


class _Pauses:
    """How many pauses are running, in every thread, and whether the collector was on.

    The switch is the process's: two threads checking and flipping it on their own could
    leave it off for good (one sees it off because the other paused it, and turns it off
    again after the other turned it back on). The first pause turns it off, the last
    puts it back as it found it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.was_enabled = False

    def begin(self) -> None:
        with self.lock:
            if self.running == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.running += 1

    def end(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running == 0 and self.was_enabled:
                gc.enable()


_PAUSES = _Pauses()


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off while the block (or decorated call) runs."""
    _PAUSES.begin()
    try:
        yield
    finally:
        _PAUSES.end()
