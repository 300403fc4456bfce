"""What the SQL stores share to offer the verification's raw reads
(:class:`~perfcore.ports.RawEventReads`): a page of stream heads read first, then their events,
read in pages that walk the ``(stream, version)`` index, handed out stream by stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from perfcore.ports import StreamHead, StreamRows

#: Below every stream key and version.
LOWEST: Final = -(2**63)

#: Reads up to ``limit`` event rows ``(stream, version, schema, header, body, hash, position)``
#: with ``(stream, version)`` after the pair given and ``stream`` up to the key given, in order.
ReadEvents = Callable[[int, int, int, int], Sequence[tuple[Any, ...]]]


def stream_rows(
    heads: Sequence[tuple[Any, ...]],
    read_events: ReadEvents,
    head_of: Callable[[Sequence[Any]], StreamHead],
    limit: int,
) -> Iterator[StreamRows]:
    """The streams of one page of heads (each row: the stream's key, its head's columns, its
    newest snapshot's version or NULL), in key order, each with its events.

    Events of a key the page does not hold (a stream created meanwhile, in a store whose keys
    are not handed out in commit order) are passed over.
    """
    last = heads[-1][0]
    stream, version = heads[0][0], LOWEST
    rows: Sequence[tuple[Any, ...]] = ()
    index = 0
    done = False
    for row in heads:
        key = row[0]
        head = head_of(row[1:-1])
        snapshot = row[-1]
        sent = False
        while True:
            count = len(rows)
            while index < count and rows[index][0] < key:
                index += 1
            if index == count:
                if done:
                    break
                rows = read_events(stream, version, last, limit)
                index = 0
                done = len(rows) < limit
                if rows:
                    stream, version = rows[-1][0], rows[-1][1]
                continue
            end = index
            while end < count and rows[end][0] == key:
                end += 1
            if end == index:
                break
            yield head, snapshot, [one[1:] for one in rows[index:end]]
            sent = True
            index = end
            if end < count:
                break
        if not sent:
            yield head, snapshot, ()
