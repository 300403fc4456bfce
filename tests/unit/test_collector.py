"""The cyclic garbage collector is paused while a bulk or a query runs, and runs again after."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from perfcore import Perfcore
from perfcore._collector import paused
from perfcore.adapters.memory import MemoryStore


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_running_after() -> None:
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_blocks_resume_at_the_outermost_end() -> None:
    with paused():
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumes_when_the_block_raises() -> None:
    with pytest.raises(ZeroDivisionError), paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_collector_the_program_disabled_stays_disabled() -> None:
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_not_enabled_leaves_the_collector_alone() -> None:
    with paused(enabled=False):
        assert gc.isenabled()


def test_blocks_in_two_threads_resume_when_both_have_ended() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread's block has not ended
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_bulk_runs_with_the_collector_paused_unless_told_not_to() -> None:
    seen = []
    for pause in (True, False):
        pc = Perfcore(MemoryStore(), pause_collector=pause)
        with pc.bulk():
            seen.append(gc.isenabled())
        assert gc.isenabled()
    assert seen == [False, True]
