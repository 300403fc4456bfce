"""Optimistic concurrency: of two units of work that loaded one version, one appends, the other
gets :class:`~perfcore.errors.ConcurrencyError` and writes nothing: in one thread, in racing
threads, and (when the adapter declares it) in racing processes.

The tests decide the order of events with barriers and pipes, never with sleeps or timing.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

import pytest

from perfcore.errors import ConcurrencyError
from perfcore.ports import Store
from perfcore.testing.conformance._support import (
    Batch,
    appended,
    assert_events,
    assert_head,
    batch,
    commit,
    finish_within,
    head_of,
    in_threads,
    read,
    scan_all,
    write_and_commit,
)
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["ConcurrencyContract"]

#: The program each child process runs: open the store, load the stream's head, say "loaded",
#: wait for a line on stdin when told to, append the batch and commit, then say "won" or
#: "conflict". Any other error is printed with its traceback, and the exit status is 3.
CHILD_PROGRAM = r"""
import pickle, sys, traceback
try:
    from perfcore.errors import ConcurrencyError
    factory, head, events, expected, wait = pickle.load(sys.stdin.buffer)
    store = factory()
    try:
        with store.unit_of_work() as uow:
            uow.events.head(head.kind, head.id)
            print("loaded", flush=True)
            if wait:
                sys.stdin.buffer.readline()
            try:
                uow.events.append(head, events, expected_version=expected)
                uow.commit()
                print("won", flush=True)
            except ConcurrencyError:
                print("conflict", flush=True)
    finally:
        store.close()
except BaseException:
    traceback.print_exc()
    sys.stderr.flush()
    sys.exit(3)
"""


class _Child:
    """A child process appending one batch to the store ``factory`` opens."""

    def __init__(self, factory: Callable[[], Store], one: Batch, *, wait: bool) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD_PROGRAM],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        stdin = self._pipe(self.process.stdin)
        stdin.write(pickle.dumps((factory, one.head, one.events, one.expected_version, wait)))
        stdin.flush()
        if not wait:
            self._close_stdin()

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        assert pipe is not None
        return pipe

    def failure(self, guard: float) -> str:
        """The child's own account of its failure: its exit status and what it printed."""
        if self.process.poll() is None:
            self.process.kill()
        out, err = self.process.communicate(timeout=guard)
        return (
            f"the child process ended with status {self.process.returncode}; it printed:\n"
            f"{out.decode(errors='replace')}{err.decode(errors='replace')}"
        )

    def expect_line(self, line: str, guard: float) -> None:
        """Wait (at most ``guard`` seconds) for the child to print ``line``."""
        stdout = self._pipe(self.process.stdout)
        got = finish_within(stdout.readline, guard, f"a child process saying {line!r}")
        if got.decode().strip() != line:
            pytest.fail(f"the child said {got!r}, not {line!r}; {self.failure(guard)}")

    def go(self) -> None:
        """Let a waiting child append."""
        self._pipe(self.process.stdin).write(b"go\n")
        self._close_stdin()

    def _close_stdin(self) -> None:
        # communicate() would flush a closed pipe: it is told there is none.
        self._pipe(self.process.stdin).close()
        self.process.stdin = None

    def outcome(self, guard: float) -> str:
        """``"won"`` or ``"conflict"``; anything else fails the test with the child's text."""
        try:
            out, err = self.process.communicate(timeout=guard)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            pytest.fail(f"a child process did not finish within {guard} s: {err.decode()}")
        said = out.decode().split()
        if self.process.returncode != 0 or not said or said[-1] not in ("won", "conflict"):
            pytest.fail(
                f"the child process ended with status {self.process.returncode}; it printed:\n"
                f"{out.decode(errors='replace')}{err.decode(errors='replace')}"
            )
        return said[-1]

    def end(self) -> None:
        """Stop the child if it still runs, and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


class ConcurrencyContract(StoreFixture):
    """Of units of work that loaded one version, exactly one appends; the others change nothing.

    .. versionadded:: 0.1.0
    """

    def test_an_append_from_a_stale_read_is_refused(self, store: Store) -> None:
        first = batch("Goal", "g-1", 2, "draft", {"owner": "ana"})
        commit(store, first)
        early, stale = first.then(1, "active", tag="early"), first.then(2, "closed", tag="late")
        with store.unit_of_work() as late:
            loaded = late.events.head("Goal", "g-1")
            assert loaded is not None
            commit(store, early)
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(late, lambda: stale.append_to(late))
        assert raised.value.expected_version == loaded.version
        assert_events(read(store, "Goal", "g-1"), appended([first, early]))
        assert_head(head_of(store, "Goal", "g-1"), early.head)

    def test_two_units_of_work_creating_one_stream_one_wins(self, store: Store) -> None:
        early, late_one = batch("Goal", "g-1", 2, tag="early"), batch("Goal", "g-1", 1, tag="late")
        with store.unit_of_work() as late:
            assert late.events.head("Goal", "g-1") is None
            commit(store, early)
            with pytest.raises(ConcurrencyError) as raised:
                write_and_commit(late, lambda: late_one.append_to(late))
        assert raised.value.expected_version == 0
        assert_events(read(store, "Goal", "g-1"), early.events)

    @pytest.mark.parametrize("threads", [2, 8])
    def test_threads_appending_to_one_stream_one_wins(self, store: Store, threads: int) -> None:
        self.require("supports_threads")
        first = batch("Goal", "g-1", 1)
        commit(store, first)
        loaded = threading.Barrier(threads, timeout=self.deadlock_guard)
        tries = [first.then(2, "active", tag=f"thread-{n}") for n in range(threads)]

        def append(number: int) -> None:
            with store.unit_of_work() as uow:
                assert uow.events.head("Goal", "g-1") is not None
                loaded.wait()  # every thread has loaded version 1
                tries[number].append_to(uow)
                uow.commit()

        outcomes = in_threads(threads, append, self.deadlock_guard)
        assert sorted(outcomes) == ["ConcurrencyError"] * (threads - 1) + ["won"], outcomes
        winner = tries[outcomes.index("won")]
        assert_events(read(store, "Goal", "g-1"), appended([first, winner]))
        assert_head(head_of(store, "Goal", "g-1"), winner.head)

    def test_threads_appending_to_their_own_streams_all_commit(self, store: Store) -> None:
        self.require("supports_threads")
        rounds = 8

        def work(number: int) -> None:
            one = batch("Goal", f"g-{number}", 2, "draft", {"owner": f"owner-{number}"})
            commit(store, one)
            for step in range(rounds):
                one = one.then(1 + step % 3, f"state-{step}")
                commit(store, one)

        assert in_threads(4, work, self.deadlock_guard) == ["won"] * 4
        scanned = scan_all(store)
        positions = [event.position for event in scanned]
        assert positions == sorted(set(positions)), "positions repeat or go back"
        for number in range(4):
            events = read(store, "Goal", f"g-{number}")
            assert [event.version for event in events] == list(range(1, len(events) + 1))
            mine = [event for event in scanned if event.id == f"g-{number}"]
            assert_events(events, mine)

    # -- processes ------------------------------------------------------------------------------

    def test_a_child_process_appends_to_the_same_store(self, store: Store) -> None:
        self.require("supports_processes")
        factory = self.process_store_factory(store)
        first = batch("Goal", "g-1", 2)
        commit(store, first)
        second = first.then(3, "active", {"owner": "ana"})
        child = _Child(factory, second, wait=False)
        try:
            result = child.outcome(self.deadlock_guard)
        finally:
            child.end()
        assert result == "won", "the child's append, from the version it read, conflicted"
        assert_events(read(store, "Goal", "g-1"), appended([first, second]))
        assert_head(head_of(store, "Goal", "g-1"), second.head)

    def test_processes_appending_to_one_stream_one_wins(self, store: Store) -> None:
        self.require("supports_processes")
        factory = self.process_store_factory(store)
        first = batch("Goal", "g-1", 1)
        commit(store, first)
        tries = [first.then(2, "active", tag=f"process-{n}") for n in range(2)]
        children: list[_Child] = []
        try:
            children = [_Child(factory, one, wait=True) for one in tries]
            for child in children:
                child.expect_line("loaded", self.deadlock_guard)
            for child in children:
                child.go()
            outcomes = [child.outcome(self.deadlock_guard) for child in children]
        finally:
            for child in children:
                child.end()
        assert sorted(outcomes) == ["conflict", "won"], outcomes
        winner = tries[outcomes.index("won")]
        assert_events(read(store, "Goal", "g-1"), appended([first, winner]))
