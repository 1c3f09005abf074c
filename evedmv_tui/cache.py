"""Bounded in-process caches that report their statistics.

Like ETS tables in Erlang, every cache registers itself by name in
:data:`REGISTRY`, so the monitor can list entries, approximate memory, hits,
misses, hit ratio and evictions for each one without knowing who owns it.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclasses.dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one cache's counters."""

    name: str
    entries: int
    max_entries: int
    approx_bytes: int
    hits: int
    misses: int
    evictions: int

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None


_FLAT_TYPES = frozenset({str, bytes, int, float, bool, type(None)})
"""Types whose estimate is ``sys.getsizeof`` alone, tested first because the
monitor's caches store strings and small tuples by the thousand."""


def _approx_size(value: object) -> int:
    size = sys.getsizeof(value)
    if type(value) in _FLAT_TYPES:
        return size
    if isinstance(value, (tuple, list)):
        size += sum(map(sys.getsizeof, value))
    elif isinstance(value, dict):
        size += sum(map(sys.getsizeof, value)) + sum(map(sys.getsizeof, value.values()))
    return size


class LRUCache(Generic[K, V]):
    """A thread-safe least-recently-used cache with hit, miss and eviction counts.

    ``approx_bytes`` is an estimate: ``sys.getsizeof`` of each key and value,
    one level deep for tuples, lists and dicts.
    """

    def __init__(self, name: str, max_entries: int, *, register: bool = True) -> None:
        if max_entries <= 0:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self.name = name
        self.max_entries = max_entries
        self._data: collections.OrderedDict[K, V] = collections.OrderedDict()
        self._sizes: dict[K, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        if register:
            REGISTRY.register(self)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | None:
        with self._lock:
            try:
                value = self._data[key]
            except KeyError:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def get_many(
        self, keys: Iterable[K], *, counted: bool = True
    ) -> tuple[dict[K, V], list[K]]:
        """Return the cached values and the keys that missed, in one lock.

        With ``counted`` false the lookups leave the hit and miss counts
        alone, so the caller can count them with :meth:`count_lookups`.
        """
        found: dict[K, V] = {}
        missing: list[K] = []
        with self._lock:
            for key in keys:
                if key in self._data:
                    self._data.move_to_end(key)
                    found[key] = self._data[key]
                else:
                    missing.append(key)
            if counted:
                self.hits += len(found)
                self.misses += len(missing)
        return found, missing

    def count_lookups(self, hits: int, misses: int) -> None:
        """Add lookups made with ``get_many(..., counted=False)`` to the counts."""
        with self._lock:
            self.hits += hits
            self.misses += misses

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._put(key, value)

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        with self._lock:
            for key, value in items:
                self._put(key, value)

    def _put(self, key: K, value: V) -> None:
        if key in self._data:
            self._bytes -= self._sizes[key]
            self._data.move_to_end(key)
        self._data[key] = value
        size = _approx_size(key) + _approx_size(value)
        self._sizes[key] = size
        self._bytes += size
        while len(self._data) > self.max_entries:
            old, _ = self._data.popitem(last=False)
            self._bytes -= self._sizes.pop(old)
            self.evictions += 1

    def get_or_load(self, key: K, load: Callable[[K], V]) -> V:
        value = self.get(key)
        if value is None:
            value = load(key)
            self.put(key, value)
        return value

    def invalidate(self, key: K) -> None:
        with self._lock:
            if key in self._data:
                del self._data[key]
                self._bytes -= self._sizes.pop(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._sizes.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self.name,
                len(self._data),
                self.max_entries,
                self._bytes,
                self.hits,
                self.misses,
                self.evictions,
            )


class CacheRegistry:
    """All caches of the process, by name."""

    def __init__(self) -> None:
        self._caches: dict[str, LRUCache[object, object]] = {}
        self._lock = threading.Lock()

    def register(self, cache: LRUCache[K, V]) -> None:
        with self._lock:
            self._caches[cache.name] = cache  # type: ignore[assignment]

    def stats(self) -> list[CacheStats]:
        with self._lock:
            caches = list(self._caches.values())
        return sorted((c.stats() for c in caches), key=lambda s: s.name)

    def clear_all(self) -> None:
        with self._lock:
            caches = list(self._caches.values())
        for cache in caches:
            cache.clear()


REGISTRY = CacheRegistry()
