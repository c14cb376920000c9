"""Early stopping without leaks: every fit chooses its epoch on validation rows taken from its
own training rows, never from the rows it will predict out of fold, nor from the test rows.

For each fit (a fresh copy on a fold's fit rows, or a final member on every training row):

1. its training rows are split once into rows it trains on and validation rows
   (``VALIDATION_FRACTION`` of them; whole groups with groups, the latest rows with a time order:
   ``protocols.two_parts``), seeded by the member's seed;
2. the copy trains up to ``epochs`` on the first part, its validation loss recorded after every
   epoch, and the epoch chosen as Keras's ``EarlyStopping(patience=P, restore_best_weights=True)``
   chooses it: the best validation loss, once ``P`` epochs in a row have not improved on it;
3. the copy is trained again from its first weights for exactly the chosen epochs: the weights
   Keras would have restored, since every epoch's shuffle is drawn in sequence from the member's
   seed (``row_orders.RowOrders``), so the first k epochs of a longer run are a run of k epochs.

Out of fold, the copy that predicts a fold is the one of step 3. The final members train on
every training row for the median of their folds' chosen epochs; without folds, for the epoch
their own validation rows chose. Every chosen epoch and every set of validation rows is kept
(``Stopped``), so tests can check that no held-out row ever validated a fit.

Steps 1-3 are one call (``stop``: a model, its rows, its settings in; the model and its epoch
out), so a fold copy's whole early-stopped training runs where trainings run (``fitting``'s
``run_trainings``: here, or as one task on a Dask worker), with the same bits either way.

Members that train as the tutorial's do (``Member.plain``) only: their loss is the task's, which
is what the validation loss is measured in. Weighted rows are not supported yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stackgen.data import inputs
from stackgen.data.task import Classes
from stackgen.methods import training
from stackgen.methods.members import Member
from stackgen.methods.protocols import two_parts

VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Stopped:
    """One early-stopped fit: which member, on which split (None: the final one), the epoch it
    chose, and the rows (of the X it was given) that validated it."""

    member: int
    split: int | None
    epoch: int
    validation_rows: np.ndarray


def chosen_epoch(val_loss: list[float], patience: int) -> int:
    """The epoch (1-based) ``EarlyStopping(patience, restore_best_weights=True)`` keeps: the
    lowest validation loss seen before ``patience`` epochs in a row fail to improve on it."""
    best, best_epoch, waited = np.inf, 0, 0
    for epoch, loss in enumerate(val_loss, start=1):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    return max(best_epoch, 1)


def validation_split(
    member: Member,
    y: np.ndarray,
    rows: np.ndarray,
    classes: Classes,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into the rows a copy of ``member`` trains on and the rows that validate
    it: ``VALIDATION_FRACTION`` of them, seeded by the member's seed (whole groups with
    ``groups``, the latest rows with a time ``order``)."""
    where = (
        None if groups is None else groups[rows],
        None if order is None else order[rows],
        "early stopping's validation rows",
    )
    task = classes.task
    try:
        train_part, validate = two_parts(y[rows], VALIDATION_FRACTION, member.seed, task, *where)
    except ValueError:  # a class of one row cannot be stratified: a plain seeded split
        train_part, validate = two_parts(
            y[rows], VALIDATION_FRACTION, member.seed, task, *where, stratified=False
        )
    return rows[train_part], rows[validate]


def stop(model, X, Y, train_rows, val_rows, task, patience, epochs, batch_size, seed, retrain):
    """One early-stopped training, a call that runs where trainings run (here, or on a Dask
    worker): ``model`` (untrained) trained up to ``epochs`` on ``train_rows`` of (X, targets
    Y) and validated after every epoch on ``val_rows``; then, with ``retrain``, trained again
    from its first weights for the chosen epoch. Returns (the model, or None without
    ``retrain``; the chosen epoch)."""
    start = model.get_weights()
    settings = {"task": task, "batch_size": batch_size, "seed": seed}
    fit_on = (inputs.take(X, train_rows), Y[train_rows])
    validation = (inputs.take(X, val_rows), Y[val_rows])
    history = training.fit(model, *fit_on, epochs=epochs, validation=validation, **settings)
    epoch = chosen_epoch(history["val_loss"], patience)
    if not retrain:  # only the epoch is wanted: the caller trains on other rows
        return None, epoch
    model.set_weights(start)  # the member's first weights again, and a fresh optimizer below
    training.fit(model, *fit_on, epochs=epoch, **settings)
    return model, epoch


def median_epoch(stopped: list[Stopped], member: int) -> int:
    """The median of ``member``'s folds' chosen epochs, rounded to a whole epoch."""
    return max(1, int(round(float(np.median([s.epoch for s in stopped if s.member == member])))))
