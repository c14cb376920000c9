"""Row orders drawn a few epochs at a time (methods/row_orders.py) are the draws made all at once,
bit for bit, and hold no more than a chunk in memory whatever the epochs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from stackgen.data.task import CLASSIFICATION
from stackgen.methods import compiled_loop, members, row_orders, side_by_side, training
from stackgen.methods.row_orders import RowOrders


def _all_at_once(n_rows: int, epochs: int, seed: int) -> np.ndarray:
    """What the project drew before chunks: every epoch's permutation, up front."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_rows) for _ in range(epochs)])


@pytest.mark.parametrize("budget", [7, 40, 1 << 22])
def test_chunks_join_to_the_orders_drawn_all_at_once(monkeypatch, budget):
    monkeypatch.setattr(row_orders, "INDICES_PER_CHUNK", budget)
    orders = RowOrders.of(10, 13, seed=5)
    chunks = list(orders.chunks(at_most=4))
    assert all(len(c) <= max(1, min(4, budget // 10)) for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), _all_at_once(10, 13, 5))
    np.testing.assert_array_equal(np.stack(list(orders.each_epoch())), _all_at_once(10, 13, 5))
    np.testing.assert_array_equal(
        np.concatenate(list(orders.index_chunks(3))).reshape(13, 10), _all_at_once(10, 13, 5)
    )


def test_models_side_by_side_each_get_their_own_seeds_draws_laid_end_to_end(monkeypatch):
    monkeypatch.setattr(row_orders, "INDICES_PER_CHUNK", 50)  # two epochs of 3 models x 8 rows
    orders = RowOrders.together(8, 5, [1, 2, 3])
    blocks = list(orders.chunks(at_most=25))
    assert [len(b) for b in blocks] == [2, 2, 1]
    joined = np.concatenate(blocks)
    for m, seed in enumerate([1, 2, 3]):
        np.testing.assert_array_equal(joined[..., m], _all_at_once(8, 5, seed))
    index = np.concatenate(list(orders.index_chunks(25)))
    assert index.dtype == np.int32 and index.shape == (5 * 8, 3)
    np.testing.assert_array_equal(index, (joined + 8 * np.arange(3)).reshape(-1, 3))


def test_memory_is_one_chunk_whatever_the_epochs():
    """200,000 rows x 100 epochs drawn up front are 160 MB of int64; chunk by chunk, one chunk's
    int32 (16 MiB) and one epoch's draw."""
    orders = RowOrders.of(200_000, 100, seed=0)
    whole = 200_000 * 100 * 8
    tracemalloc.start()
    try:
        seen = sum(int(chunk[-1]) >= 0 for chunk in orders.index_chunks(25))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == 100 / orders.epochs_per_chunk(25)
    assert peak < whole / 4, f"peak {peak / 2**20:.0f} MiB while drawing the orders"


@pytest.mark.skipif(not compiled_loop.available(), reason="the compiled loop is TensorFlow's")
def test_side_by_side_in_chunks_of_one_epoch_ends_with_the_same_bits(monkeypatch):
    """The budget cuts a fit into one-epoch calls; the weights are those of one long call."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)).astype(np.float32)
    Y = CLASSIFICATION.targets(rng.integers(0, 3, 40), 3)

    def trained():
        compiled_loop.forget()
        training.seed_everything(1)
        models = [members.build_mlp(f"member_{i}", 2, 3, 5) for i in range(3)]
        return side_by_side.fit_side_by_side(
            models, [(X, Y)] * 3, task=CLASSIFICATION, epochs=6, batch_size=16, seeds=[4, 5, 6]
        )

    whole = trained()
    monkeypatch.setattr(row_orders, "INDICES_PER_CHUNK", 1)
    chunked = trained()
    compiled_loop.forget()
    for a, b in zip(whole, chunked, strict=True):
        for wa, wb in zip(a, b, strict=True):
            assert np.array_equal(wa, wb)


@pytest.mark.skipif(not compiled_loop.available(), reason="the compiled loop is TensorFlow's")
def test_copies_given_their_rows_by_place_train_as_on_copies_of_the_rows():
    """One fold's copies read the training rows in place, (X, Y, rows), with no copy of X each:
    the same weights as on X[rows], bit for bit, and nothing else trained."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    Y = CLASSIFICATION.targets(rng.integers(0, 3, 60), 3)
    folds = [np.flatnonzero(np.arange(60) % 3 != k) for k in range(3)]

    def trained(by_place: bool):
        compiled_loop.forget()
        training.seed_everything(2)
        starts = [members.build_mlp(f"member_{i}", 2, 3, 5) for i in range(2)]
        models = [m for _ in folds for m in starts]
        rows = [(X, Y, f) if by_place else (X[f], Y[f]) for f in folds for _ in starts]
        return side_by_side.fit_side_by_side(
            models, rows, task=CLASSIFICATION, epochs=4, batch_size=16, seeds=[7, 8] * 3
        )

    copied, in_place = trained(False), trained(True)
    compiled_loop.forget()
    assert len(in_place) == 6
    for a, b in zip(copied, in_place, strict=True):
        for wa, wb in zip(a, b, strict=True):
            assert np.array_equal(wa, wb)
    assert not np.array_equal(in_place[0][0], in_place[2][0])  # folds differ
