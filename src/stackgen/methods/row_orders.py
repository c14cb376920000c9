"""Every epoch's order of the training rows, drawn a few epochs at a time.

A fit visits its training rows in a fresh permutation every epoch, drawn from the fit's seed with
NumPy (``np.random.default_rng(seed).permutation(n_rows)``, once per epoch, in order). Drawing
them all up front takes epochs x rows x models integers: gigabytes at 100,000 rows and 500
epochs, more than the data itself. ``RowOrders`` is the same draws, made when the loop reaches
them: a generator per model, carried from chunk to chunk, so chunk k holds exactly the rows
that the whole array would hold there (tests/test_row_orders.py), and memory is bounded by
``INDICES_PER_CHUNK`` whatever the epochs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Row indices held at once (int32: 16 MiB), across the models of a side-by-side fit; a chunk is
# never less than one epoch.
INDICES_PER_CHUNK = 1 << 22


@dataclass(frozen=True, eq=False)
class RowOrders:
    """The rows' order in each of ``epochs`` epochs over ``n_rows`` rows, one permutation per
    epoch from each seed: one seed for one model, one per model for models side by side."""

    n_rows: int
    epochs: int
    seeds: tuple[int, ...]
    side_by_side: bool = False
    # Side by side, where model m's rows are in the rows laid end to end (``index_chunks``):
    # from ``starts[m]`` (default ``m * n_rows``), at ``lookups[m]`` (its rows' places there,
    # default 0..n_rows-1), so models that share rows (one fold's copies) need no copy each.
    starts: tuple[int, ...] = ()
    lookups: tuple = ()

    @classmethod
    def of(cls, n_rows: int, epochs: int, seed: int) -> RowOrders:
        return cls(int(n_rows), int(epochs), (int(seed),))

    @classmethod
    def together(cls, n_rows: int, epochs: int, seeds, starts=(), lookups=()) -> RowOrders:
        """Models side by side: model m's rows shuffled from ``seeds[m]``."""
        seeds = tuple(int(s) for s in seeds)
        starts = tuple(int(s) for s in starts)
        lookups = tuple(None if a is None else np.asarray(a, np.int64) for a in lookups)
        return cls(int(n_rows), int(epochs), seeds, True, starts, lookups)

    @property
    def tail(self) -> tuple[int, ...]:
        """The shape of one row's index past the first axis: (models,) side by side, else ()."""
        return (len(self.seeds),) if self.side_by_side else ()

    def epochs_per_chunk(self, at_most: int) -> int:
        width = max(self.n_rows * len(self.seeds), 1)
        return max(1, min(at_most, INDICES_PER_CHUNK // width))

    def chunks(self, at_most: int) -> Iterator[np.ndarray]:
        """[k, n_rows] int32 blocks of consecutive epochs ([k, n_rows, models] side by side), at
        most ``at_most`` epochs each and within ``INDICES_PER_CHUNK``; the last may be shorter."""
        return self._blocks(at_most, spread=False)

    def each_epoch(self) -> Iterator[np.ndarray]:
        """One epoch's order at a time: [n_rows], or [n_rows, models] side by side."""
        for block in self._blocks(at_most=1, spread=False):
            yield block[0]

    def index_chunks(self, at_most: int) -> Iterator[np.ndarray]:
        """What the compiled loop reads: consecutive epochs laid end to end; side by side, model
        m's row r as row ``m * n_rows + r`` of every model's rows laid end to end (or as
        ``starts[m] + lookups[m][r]``)."""
        for block in self._blocks(at_most, spread=True):
            yield block.reshape(-1, *self.tail)

    def _blocks(self, at_most: int, spread: bool) -> Iterator[np.ndarray]:
        # Each permutation is written into the block as it is drawn: one epoch's int64 draw and
        # one int32 block are all there is in memory.
        rngs = [np.random.default_rng(seed) for seed in self.seeds]
        starts = self.starts or [m * self.n_rows for m in range(len(rngs))]
        lookups = self.lookups or [None] * len(rngs)
        size = self.epochs_per_chunk(at_most)
        for first in range(0, self.epochs, size):
            count = min(size, self.epochs - first)
            block = np.empty((count, self.n_rows, len(rngs)), np.int32)
            for m, rng in enumerate(rngs):
                for k in range(count):
                    order = rng.permutation(self.n_rows)
                    if spread:
                        order = order if lookups[m] is None else lookups[m][order]
                        order += starts[m]
                    block[k, :, m] = order
            yield block if self.side_by_side else block[..., 0]

    def key(self) -> bytes:
        """What the orders are a function of, for a digest of a fit."""
        described = ["permutation per epoch", self.n_rows, self.epochs, self.seeds]
        digest = hashlib.sha256(json.dumps([*described, self.side_by_side, self.starts]).encode())
        for lookup in self.lookups:
            digest.update(b"-" if lookup is None else memoryview(np.ascontiguousarray(lookup)))
        return digest.digest()

    def array(self) -> np.ndarray:
        """Every epoch at once, [epochs, n_rows(, models)]: for short fits and tests only."""
        blocks = list(self.chunks(at_most=1 << 30))
        return (
            np.concatenate(blocks) if blocks else np.zeros((0, self.n_rows, *self.tail), np.int32)
        )
