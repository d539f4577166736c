"""The cyclic garbage collector's pause: off while any pause runs, then as it was."""

from __future__ import annotations

import gc
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from condawheel.io.collector import cyclic_gc_paused

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_off_inside_and_back_on_after() -> None:
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()


def test_back_on_after_an_error() -> None:
    with pytest.raises(ValueError, match="boom"), cyclic_gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_as_a_decorator_each_call_pauses() -> None:
    seen = []

    @cyclic_gc_paused()
    def work() -> None:
        seen.append(gc.isenabled())

    work()
    work()
    assert seen == [False, False]
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_end_with_the_collector_on() -> None:
    # Pauses in two threads that begin and end in every interleaving: a pause that began
    # while the other ran must not turn the collector off once both are over.
    rounds = 20_000
    barrier = threading.Barrier(2)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between any two bytecodes

    def pauses() -> None:
        barrier.wait()
        for _ in range(rounds):
            with cyclic_gc_paused():
                pass

    threads = [threading.Thread(target=pauses) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert gc.isenabled()
