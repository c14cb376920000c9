"""Training the members: the final ones on all rows, and fresh copies on folds for their
out-of-fold predictions. What the estimators' ``fit`` and step 3 both do.

* A member trained elsewhere is used as it is; a builder's member trains on every row given.
* For each (fit rows, held-out rows) of a protocol's splits, a fresh copy of every member (new
  weights from the member's seed) trains on the fit rows and predicts only the held-out rows, so
  no out-of-fold prediction comes from a model that saw its row.
* Members that train as the tutorial's does (``Member.plain``: a Dense chain, Keras's default
  Adam, the task's loss) train side by side in one compiled loop (``side_by_side.py``), each on
  its own rows and shuffles; the others one by one, each with its own optimizer and loss. Either
  way the result is what training each one alone with ``model.fit`` gives.

Every shuffle comes from the member's seed; the same seed gives the same weights.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from stackgen.data import inputs
from stackgen.data.task import Classes
from stackgen.methods import member_checks, training
from stackgen.methods.members import Member
from stackgen.methods.side_by_side import fit_side_by_side

# Called after each training: (what was trained, trainings done, trainings in all).
Progress = Callable[[str, int, int], None]


def final_models(
    members: list[Member],
    X: inputs.Inputs,
    y: np.ndarray,
    classes: Classes,
    *,
    epochs: int,
    batch_size: int,
    target: tuple[float, float] | None = None,
    sample_weight: np.ndarray | None = None,
    progress: Progress | None = None,
) -> list[keras.Model]:
    """Each member's final model, unwrapped: a given one as it is, a builder's trained on every
    row of (X, y), each row's loss weighted by ``sample_weight`` if given. Builders' plain
    members train side by side (without weights), the rest one by one."""
    built = [m for m in members if m.given is None]
    models = {m.index: m.start() for m in built}
    plain = [m for m in built if m.plain and sample_weight is None]
    done, total = 0, len(built)
    if plain:
        fit_side_by_side(
            [models[m.index] for m in plain],
            [(X, classes.task.targets(y, classes.n_classes))] * len(plain),
            task=classes.task,
            epochs=epochs,
            batch_size=batch_size,
            seeds=[m.seed for m in plain],
        )
        done += len(plain)
        if progress:
            progress("members", done, total)
    for member in built:
        if member.index in {m.index for m in plain}:
            continue
        _fit_own(
            member, models[member.index], X, y, classes, target, epochs, batch_size, sample_weight
        )
        done += 1
        if progress:
            progress("members", done, total)
    return [m.given if m.given is not None else models[m.index] for m in members]


def out_of_fold(
    members: list[Member],
    X: inputs.Inputs,
    y: np.ndarray,
    classes: Classes,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    epochs: int,
    batch_size: int,
    target: tuple[float, float] | None = None,
    sample_weight: np.ndarray | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Out-of-fold outputs [rows, members, classes] ([rows, members, 1] for regression): for
    every split, a fresh copy of every member trains on its fit rows (their losses weighted by
    ``sample_weight`` if given) and predicts its held-out rows. Rows no split holds out are
    NaN."""
    oof = np.full((inputs.count(X), len(members), classes.n_outputs), np.nan, dtype=np.float32)
    plain = [m for m in members if m.plain and sample_weight is None]
    total, done = len(splits) * len(members), 0
    if plain:
        # A member's copies start from its own seed's weights in every split: one model per
        # member, listed once per split; all of them train side by side in one loop.
        starts = {m.index: m.fresh() for m in plain}
        Y = classes.task.targets(y, classes.n_classes)
        place = {m.index: p for p, m in enumerate(members)}
        models, datasets, seeds, held = [], [], [], []
        for fit_rows, held_out in splits:
            for member in plain:
                models.append(starts[member.index])
                datasets.append((X[fit_rows], Y[fit_rows]))
                seeds.append(member.seed)
                held.append((held_out, place[member.index]))
        trained = fit_side_by_side(
            models, datasets, task=classes.task, epochs=epochs, batch_size=batch_size, seeds=seeds
        )
        for model, weights, (rows, at) in zip(models, trained, held, strict=True):
            model.set_weights(weights)
            oof[rows, at] = training.predict_proba(model, X[rows])
        done += len(models)
        if progress:
            progress("fold copies", done, total)
    for number, (fit_rows, held_out) in enumerate(splits, start=1):
        weights = None if sample_weight is None else sample_weight[fit_rows]
        for place, member in enumerate(members):
            if member.index in {m.index for m in plain}:
                continue
            copy = member.fresh()
            part = inputs.take(X, fit_rows)
            _fit_own(member, copy, part, y[fit_rows], classes, target, epochs, batch_size, weights)
            wrapper = member_checks.wrap(
                copy,
                f"fold_{number}_{member.name}",
                member.kind,
                member.reads,
                target if member.own_units else None,
            )
            oof[held_out, place] = training.predict_proba(wrapper, inputs.take(X, held_out))
            done += 1
            if progress:
                progress("fold copies", done, total)
    return oof


def _fit_own(
    member: Member, model, X, y, classes: Classes, target, epochs, batch_size, weights=None
) -> None:
    """Train ``model`` (the member, or a fresh copy of it) with its own optimizer and loss."""
    optimizer, loss = member_checks.rebuild(member.settings)
    training.fit(
        model,
        X,
        member.targets(y, classes, target),
        task=classes.task,
        epochs=epochs,
        batch_size=batch_size,
        seed=member.seed,
        optimizer=optimizer,
        loss=loss,
        sample_weight=weights,
    )
