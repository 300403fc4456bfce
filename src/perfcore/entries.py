"""Entries: the immutable sequence an object keeps what grows with use in (check-ins, feedback).

A command that adds a check-in to a goal with 5,000 of them must not copy the 5,000: an
:class:`Entries` is a persistent vector (a 32-way trie with a tail, as in Clojure), so adding an
item makes a new sequence that shares every item and every full node of the old one. Adding costs
about the same at 10 items and at 100,000; the old sequence is unchanged, and both stay valid.

To its readers it is a read-only sequence like a tuple: ``len``, iteration, indexing (a slice is a
tuple), ``in``, equality with another Entries or a tuple of the same items, a hash, and the same
JSON (a list) through perfcore's converter.

>>> from perfcore.entries import Entries
>>> first = Entries(["a", "b"])
>>> second = first + ("c",)
>>> len(first), len(second), second[-1], second == ("a", "b", "c")
(2, 3, 'c', True)
>>> second[1:]
('b', 'c')
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, Generic, TypeVar, get_args, get_origin, overload

from perfcore._codec import converter

__all__ = ["Entries"]

T = TypeVar("T")

_BITS = 5
_WIDTH = 1 << _BITS
_MASK = _WIDTH - 1

# A node is a tuple: of items at the lowest level (a leaf), else of nodes.
_Node = tuple[Any, ...]


class Entries(Sequence[T], Generic[T]):
    """An immutable sequence whose ``+`` shares the items already there (see the module)."""

    __slots__ = ("_count", "_hash", "_keys", "_root", "_shift", "_tail")

    _count: int
    _shift: int
    _root: _Node
    _tail: _Node
    _hash: int
    _keys: _Keys | None

    def __init__(self, items: Iterable[T] = ()) -> None:
        values = tuple(items)
        count = len(values)
        if count <= _WIDTH:
            self._set(count, _BITS, (), values)
            return
        # The tail holds the last 1 to 32 items (none when empty); the trie the full leaves.
        tail_start = ((count - 1) >> _BITS) << _BITS if count else 0
        nodes: list[_Node] = [
            values[start : start + _WIDTH] for start in range(0, tail_start, _WIDTH)
        ]
        shift = _BITS
        while len(nodes) > _WIDTH:
            nodes = [tuple(nodes[start : start + _WIDTH]) for start in range(0, len(nodes), _WIDTH)]
            shift += _BITS
        self._set(count, shift, tuple(nodes), values[tail_start:])

    def _set(self, count: int, shift: int, root: _Node, tail: _Node) -> None:
        # Through the slots' descriptors: ``__setattr__`` refuses every change.
        _SET_COUNT(self, count)
        _SET_SHIFT(self, shift)
        _SET_ROOT(self, root)
        _SET_TAIL(self, tail)

    @classmethod
    def _of(cls, count: int, shift: int, root: _Node, tail: _Node) -> Entries[T]:
        new: Entries[T] = object.__new__(cls)
        _SET_COUNT(new, count)
        _SET_SHIFT(new, shift)
        _SET_ROOT(new, root)
        _SET_TAIL(new, tail)
        return new

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Entries are immutable: cannot set {name!r}")

    # -- adding ---------------------------------------------------------------------------------

    def append(self, item: T) -> Entries[T]:
        """A new sequence: these items, then ``item``. This one is unchanged."""
        count, tail = self._count, self._tail
        if len(tail) < _WIDTH:
            return self._of(count + 1, self._shift, self._root, (*tail, item))
        # The tail is full: it becomes a leaf of the trie, and ``item`` starts a new tail.
        shift = self._shift
        if (count >> _BITS) > (1 << shift):
            root: _Node = (self._root, _path(shift, tail))
            shift += _BITS
        else:
            root = _push(count, shift, self._root, tail)
        return self._of(count + 1, shift, root, (item,))

    def __add__(self, other: Iterable[T]) -> Entries[T]:
        if isinstance(other, Entries):
            # A short one is all tail; a long one is read once.
            other = other._tail if other._count <= _WIDTH else tuple(other)
        elif not isinstance(other, tuple | list):
            return NotImplemented
        tail = self._tail
        if len(tail) + len(other) <= _WIDTH:  # the common case: one new tail
            result = self._of(self._count + len(other), self._shift, self._root, (*tail, *other))
        else:
            result = self
            for item in other:
                result = result.append(item)
        self._pass_keys(result, other)
        return result

    # -- a kept index: where an item of a key is, without a walk ----------------------------------

    def position(self, key_of: Callable[[T], Hashable], key: Hashable) -> int | None:
        """Where the first item whose ``key_of(item)`` is ``key`` is, or ``None`` if none is.

        The first call with a ``key_of`` builds an index of every item's key (one walk); a
        sequence made by ``+`` from an indexed one shares and extends that index with the
        items it adds, so asking the newest sequence of a growing one costs the same at 10
        items as at 100,000. The index belongs to the line of sequences each made from the one
        before: positions below a sequence's length are its own items (a sequence only ever
        grows), so every sequence of the line reads the one index. A second sequence made from
        the same one (a branch) builds its own on its first question.

        >>> first = Entries(["ana", "ben"])
        >>> first.position(str.upper, "BEN"), first.position(str.upper, "CY")
        (1, None)
        >>> second = first + ("cy",)
        >>> second.position(str.upper, "CY"), first.position(str.upper, "CY")
        (2, None)
        """
        if self._count <= _WIDTH:
            # All in the tail: a walk of at most 32 items costs less than building an index
            # (most evaluations ask a few reviewers); a longer sequence keeps one.
            for position, item in enumerate(self._tail):
                if key_of(item) == key:
                    return position
            return None
        index = self._index_of(key_of)
        found = index.positions.get(key)
        return found if found is not None and found < self._count else None

    def _index_of(self, key_of: Callable[[T], Hashable]) -> _Keys:
        try:
            index: _Keys | None = self._keys
        except AttributeError:
            index = None
        if index is None or index.key_of is not key_of:
            index = _Keys(key_of)
            with index.lock:
                index.extend(self, 0)
            _SET_KEYS(self, index)
        return index

    def _pass_keys(self, made: Entries[T], added: Sequence[T]) -> None:
        """Share this sequence's index with ``made`` (this one with ``added`` after it) if this
        one is the newest of its line: the index then covers ``made`` too."""
        try:
            index: _Keys | None = self._keys
        except AttributeError:
            return
        if index is None:
            return
        with index.lock:
            if index.length != self._count:
                return  # a branch: ``made`` builds its own when asked
            for offset, item in enumerate(added):
                index.positions.setdefault(index.key_of(item), self._count + offset)
            index.length = made._count
        _SET_KEYS(made, index)

    def __radd__(self, other: Iterable[T]) -> tuple[T, ...]:
        if not isinstance(other, tuple | list):
            return NotImplemented
        return (*other, *self)

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        count = self._count
        if not isinstance(index, int):
            raise TypeError(f"Entries indices must be integers, not {type(index).__name__}")
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError("Entries index out of range")
        tail_start = count - len(self._tail)
        if position >= tail_start:
            item: T = self._tail[position - tail_start]
            return item
        node = self._root
        for level in range(self._shift, 0, -_BITS):
            node = node[(position >> level) & _MASK]
        leaf_item: T = node[position & _MASK]
        return leaf_item

    def __iter__(self) -> Iterator[T]:
        # Chained in C, level by level: as fast as iterating a tuple, nearly.
        nodes: Iterator[Any] = iter(self._root)
        for _level in range(self._shift - _BITS, 0, -_BITS):
            nodes = chain.from_iterable(nodes)
        return chain(chain.from_iterable(nodes), self._tail)

    def __reversed__(self) -> Iterator[T]:
        yield from reversed(self._tail)
        yield from _items_reversed(self._root, self._shift)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if isinstance(other, Entries):
            if other._count != self._count:
                return False
            if other._root is self._root and other._tail is self._tail:
                return True
            return tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return len(other) == self._count and tuple(self) == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        # Equal to the hash of the tuple of the same items, as equality is; kept once computed.
        try:
            return self._hash
        except AttributeError:
            _SET_HASH(self, hash(tuple(self)))
            return self._hash

    def __repr__(self) -> str:
        return f"Entries({tuple(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (tuple(self),))

    def __copy__(self) -> Entries[T]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Entries[T]:
        import copy

        return type(self)(copy.deepcopy(tuple(self), memo))


class _Keys:
    """An index shared by a line of Entries: each key's first position, over the first
    ``length`` items of the line's newest sequence."""

    __slots__ = ("key_of", "length", "lock", "positions")

    def __init__(self, key_of: Callable[[Any], Hashable]) -> None:
        self.key_of = key_of
        self.positions: dict[Hashable, int] = {}
        self.length = 0
        self.lock = threading.Lock()

    def extend(self, items: Iterable[Any], start: int) -> None:
        """Add ``items``, the first at position ``start`` (under ``lock``)."""
        key_of, positions = self.key_of, self.positions
        count = start
        for item in items:
            positions.setdefault(key_of(item), count)
            count += 1
        self.length = count


_SET_COUNT = Entries.__dict__["_count"].__set__
_SET_SHIFT = Entries.__dict__["_shift"].__set__
_SET_ROOT = Entries.__dict__["_root"].__set__
_SET_TAIL = Entries.__dict__["_tail"].__set__
_SET_HASH = Entries.__dict__["_hash"].__set__
_SET_KEYS = Entries.__dict__["_keys"].__set__


def _path(level: int, node: _Node) -> _Node:
    """``node`` at the bottom of a new path ``level`` bits deep."""
    while level > 0:
        node = (node,)
        level -= _BITS
    return node


def _push(count: int, level: int, parent: _Node, leaf: _Node) -> _Node:
    """``parent`` (``level`` bits above the leaves) with ``leaf`` added after the ``count - 32``
    items already below it: only the nodes on the path to the new leaf are copied."""
    index = ((count - 1) >> level) & _MASK
    if level == _BITS:
        inserted: _Node = leaf
    elif index < len(parent):
        inserted = _push(count, level - _BITS, parent[index], leaf)
    else:
        inserted = _path(level - _BITS, leaf)
    if index < len(parent):
        return (*parent[:index], inserted, *parent[index + 1 :])
    return (*parent, inserted)


def _items_reversed(node: _Node, level: int) -> Iterator[Any]:
    if level == _BITS:
        for leaf in reversed(node):
            yield from reversed(leaf)
    else:
        for child in reversed(node):
            yield from _items_reversed(child, level - _BITS)


def to_entries(value: object) -> object:
    """Accept a list, a tuple or Entries where perfcore keeps Entries; leave the rest (a string,
    a set, ``None``) for the validator to refuse."""
    if isinstance(value, Entries):
        return value
    if isinstance(value, tuple | list):
        return Entries(value)
    return value


# -- JSON: the same list a tuple makes ----------------------------------------------------------


def _is_entries(kind: Any) -> bool:
    return kind is Entries or get_origin(kind) is Entries


def _item_type(kind: Any) -> Any:
    args = get_args(kind)
    return args[0] if args else Any


def _unstructure_entries(kind: Any) -> Any:
    item = _item_type(kind)

    def unstructure(value: Entries[Any]) -> list[Any]:
        return [converter.unstructure(entry, item) for entry in value]

    return unstructure


def _structure_entries(kind: Any) -> Any:
    items: Any = tuple.__class_getitem__((_item_type(kind), ...))

    def structure(data: Any, _kind: Any) -> Entries[Any]:
        return Entries(converter.structure(data, items))

    return structure


converter.register_unstructure_hook_factory(_is_entries, _unstructure_entries)
converter.register_structure_hook_factory(_is_entries, _structure_entries)
