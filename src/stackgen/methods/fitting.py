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

from stackgen import progress as progress_lines
from stackgen.data import inputs
from stackgen.data.task import Classes
from stackgen.methods import early_stopping, member_checks, training
from stackgen.methods.members import Member
from stackgen.methods.side_by_side import fit_side_by_side
from stackgen.trust.errors import StackgenError

# Called after each training: (what was trained, trainings done, trainings in all). Without
# one, trainings are said to the current progress lines (stackgen/progress.py), if any.
Progress = Callable[[str, int, int], None]


def _said(progress: Progress | None) -> Progress:
    return progress or progress_lines.current().trained


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
        _said(progress)("members", done, total)
    for member in built:
        if member.index in {m.index for m in plain}:
            continue
        _fit_own(
            member, models[member.index], X, y, classes, target, epochs, batch_size, sample_weight
        )
        done += 1
        _said(progress)("members", done, total)
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
        _said(progress)("fold copies", done, total)
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
            _said(progress)("fold copies", done, total)
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


def out_of_fold_early_stopped(
    members: list[Member],
    X: inputs.Inputs,
    y: np.ndarray,
    classes: Classes,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    patience: int,
    epochs: int,
    batch_size: int,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, list[early_stopping.Stopped]]:
    """``out_of_fold``'s predictions from early-stopped copies (``methods/early_stopping.py``):
    each split's copy validated on rows of that split's fit rows only; and every copy's
    ``Stopped`` (its chosen epoch and validation rows)."""
    _refuse_not_plain(members)
    oof = np.full((inputs.count(X), len(members), classes.n_outputs), np.nan, dtype=np.float32)
    stopped, total = [], len(splits) * len(members)
    for number, (fit_rows, held_out) in enumerate(splits):
        for place, member in enumerate(members):
            copy, record = early_stopping.fit(
                member,
                X,
                y,
                fit_rows,
                classes,
                patience=patience,
                epochs=epochs,
                batch_size=batch_size,
                groups=groups,
                order=order,
                split=number,
            )
            oof[held_out, place] = training.predict_proba(copy, inputs.take(X, held_out))
            stopped.append(record)
            _said(progress)("fold copies", len(stopped), total)
    return oof, stopped


def final_models_early_stopped(
    members: list[Member],
    X: inputs.Inputs,
    y: np.ndarray,
    classes: Classes,
    folds_stopped: list[early_stopping.Stopped] | None,
    *,
    patience: int,
    epochs: int,
    batch_size: int,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> tuple[list[keras.Model], list[early_stopping.Stopped]]:
    """The final members under early stopping: each trained on every row of (X, y) for the
    median of its folds' chosen epochs (``folds_stopped``); without folds, for the epoch chosen
    on validation rows of its own, then trained on every row. Given members are used as they
    are. Returns the models and the epoch each final member trained for (its ``Stopped``; no
    validation rows when the folds chose)."""
    _refuse_not_plain([m for m in members if m.given is None])
    models, finals = [], []
    every = np.arange(inputs.count(X))
    for member in members:
        if member.given is not None:
            models.append(member.given)
            continue
        if folds_stopped:
            epoch = early_stopping.median_epoch(folds_stopped, member.index)
            record = early_stopping.Stopped(member.index, None, epoch, np.zeros(0, np.int64))
        else:
            _, record = early_stopping.fit(
                member,
                X,
                y,
                every,
                classes,
                patience=patience,
                epochs=epochs,
                batch_size=batch_size,
                groups=groups,
                order=order,
                retrain=False,
            )
        model = member.start()
        training.fit(
            model,
            X,
            classes.task.targets(y, classes.n_classes),
            task=classes.task,
            epochs=record.epoch,
            batch_size=batch_size,
            seed=member.seed,
        )
        models.append(model)
        finals.append(record)
    return models, finals


def _refuse_not_plain(members: list[Member]) -> None:
    for member in members:
        if not member.plain:
            raise StackgenError(
                f"{member.where}: early stopping measures the validation loss in the task's own "
                "loss, so it applies to members that train as the tutorial's do (Dense layers, "
                "Adam, the task's loss); train this one without early stopping"
            )
