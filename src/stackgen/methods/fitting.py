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
* Each of those trainings is one call (``train_side_by_side``: the members, or all their fold
  copies, side by side; ``train_one``: a member or a copy alone), run where
  ``cluster.trainings()`` says: here, one after another, or as tasks on a Dask cluster's
  workers. A call takes its starting models and rows and gives back trained weights (or the
  trained model), so where it ran does not change them.

Every shuffle comes from the member's seed; the same seed gives the same weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keras
import numpy as np

from stackgen import cluster
from stackgen import progress as progress_lines
from stackgen.data import inputs
from stackgen.data.task import Classes
from stackgen.methods import early_stopping, member_checks, shipping, training
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
    alone = [m for m in built if m.index not in {p.index for p in plain}]
    together = [models[m.index] for m in plain]

    def calls():
        if plain:
            rows = [(X, classes.task.targets(y, classes.n_classes))] * len(plain)
            seeds = [m.seed for m in plain]
            yield side_by_side_call(together, rows, classes, epochs, batch_size, seeds)
        for m in alone:
            model = models[m.index]
            yield one_call(m, model, X, None, y, classes, target, epochs, batch_size, sample_weight)

    results = run_trainings(calls())
    done, total = 0, len(built)
    if plain:
        for model, weights in zip(together, next(results), strict=True):
            model.set_weights(weights)
        done += len(plain)
        _said(progress)("members", done, total)
    for member in alone:
        models[member.index] = next(results)
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
    place = {m.index: p for p, m in enumerate(members)}
    # A member's copies start from its own seed's weights in every split: one model per member,
    # listed once per split; all of them train side by side in one loop.
    starts = {m.index: m.fresh() for m in plain}
    together = [(starts[m.index], fit, held, m) for fit, held in splits for m in plain]
    alone = [
        (number, fit, held, m)
        for number, (fit, held) in enumerate(splits, start=1)
        for m in members
        if m.index not in starts
    ]

    def calls():
        if together:
            Y = classes.task.targets(y, classes.n_classes)
            rows = [(X, Y, fit) for _, fit, _, _ in together]  # one copy of X for them all
            seeds = [m.seed for *_, m in together]
            models = [model for model, *_ in together]
            yield side_by_side_call(models, rows, classes, epochs, batch_size, seeds)
        for _, fit, _, m in alone:  # each copy made as its training is reached
            weights = None if sample_weight is None else sample_weight[fit]
            yield one_call(m, m.fresh(), X, fit, y, classes, target, epochs, batch_size, weights)

    results = run_trainings(calls())
    total, done = len(splits) * len(members), 0
    if together:
        for (model, _, held, member), weights in zip(together, next(results), strict=True):
            model.set_weights(weights)
            oof[held, place[member.index]] = training.predict_proba(model, X, held)
        done += len(together)
        _said(progress)("fold copies", done, total)
    for (number, _, held, member), copy in zip(alone, results, strict=True):
        wrapper = member_checks.wrap(
            copy,
            f"fold_{number}_{member.name}",
            member.kind,
            member.reads,
            target if member.own_units else None,
        )
        oof[held, place[member.index]] = training.predict_proba(wrapper, X, held)
        done += 1
        _said(progress)("fold copies", done, total)
    return oof


def side_by_side_call(models, datasets, classes: Classes, epochs, batch_size, seeds) -> tuple:
    """The call that trains ``models`` side by side, model i on ``datasets[i]`` from seed i."""
    return (train_side_by_side, models, datasets, classes.task, epochs, batch_size, seeds)


def one_call(
    member: Member, model, X, rows, y, classes: Classes, target, epochs, batch_size, weights=None
) -> tuple:
    """The call that trains ``model`` (the member, or a fresh copy of it) alone on the ``rows``
    of X (None: all of them), with the member's own optimizer and loss."""
    targets = member.targets(y if rows is None else y[rows], classes, target)
    fit = (epochs, batch_size, member.seed, weights)
    return (train_one, model, X, rows, targets, classes.task, member.settings, *fit)


def train_side_by_side(models, datasets, task, epochs, batch_size, seeds) -> list:
    """``fit_side_by_side``: every model's trained weights."""
    return fit_side_by_side(
        models, datasets, task=task, epochs=epochs, batch_size=batch_size, seeds=seeds
    )


def train_one(model, X, rows, targets, task, settings, epochs, batch_size, seed, weights):
    """``model`` trained on the ``rows`` of X (None: all of them)."""
    optimizer, loss = member_checks.rebuild(settings)
    training.fit(
        model,
        X,
        targets,
        rows=rows,
        task=task,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        optimizer=optimizer,
        loss=loss,
        sample_weight=weights,
    )
    return model


def run_trainings(calls) -> Iterator:
    """Each call ``(function, *args)``'s result, in order, from where trainings run now: here,
    each call made as it is reached; or on Dask workers, its models shipped there as their
    configuration and weights, and a model trained alone brought back into the caller's own."""
    runner = cluster.trainings()
    if isinstance(runner, cluster.Here):
        yield from runner.map(_call, calls)
        return
    calls = list(calls)
    backend = keras.backend.backend()
    sent = ((backend, function, *map(shipping.ship, args)) for function, *args in calls)
    for (function, *args), result in zip(calls, runner.map(_on_worker, sent), strict=True):
        yield _brought_back(function, args, result)


def _brought_back(function, args, result):
    """A worker's ``result`` of ``function(*args)`` as the call gives it here: a model trained
    there (alone, or with an early-stopped epoch) brought back into the call's own model,
    compiled as the training compiled its copy."""
    model, optimizer, loss = args[0], None, None
    if function is train_one:
        _, _, _, _, task, settings, *_ = args
        optimizer, loss = member_checks.rebuild(settings)
    elif function is train_for:
        task = args[3]
    elif function is early_stopping.stop:
        task, state = args[5], result[0]
        if state is None:  # the epoch alone
            return result
    else:
        return result
    training.compile_model(model, task, training.STEPS_PER_EXECUTION, optimizer, loss)
    if function is early_stopping.stop:
        return shipping.restore(model, state), result[1]
    return shipping.restore(model, result)


def _call(function, *args):
    return function(*args)


def _on_worker(backend: str, function, *args):
    """``function(*args)`` on a Dask worker: its models rebuilt, the backend's kernels made
    deterministic; a trained model sent back as its trained state. Refused on a worker whose
    Keras runs another backend (the weights would differ)."""
    if keras.backend.backend() != backend:
        raise StackgenError(
            f"a worker runs Keras on {keras.backend.backend()} and this process on {backend}: "
            f"start the workers with KERAS_BACKEND={backend}"
        )
    training.deterministic()
    result = function(*map(shipping.unship, args))
    if isinstance(result, keras.Model):
        return shipping.trained_state(result)
    if isinstance(result, tuple) and isinstance(result[0], keras.Model):  # (model, epoch)
        return shipping.trained_state(result[0]), *result[1:]
    return result


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
    ``Stopped`` (its chosen epoch and validation rows). Each copy is one call, run where
    trainings run."""
    _refuse_not_plain(members)
    oof = np.full((inputs.count(X), len(members), classes.n_outputs), np.nan, dtype=np.float32)
    Y = classes.task.targets(y, classes.n_classes)  # one array for every call
    copies = [
        (number, held, place, member)
        for number, (_, held) in enumerate(splits)
        for place, member in enumerate(members)
    ]
    parts = [  # each copy's training rows and validation rows, from its split's fit rows
        early_stopping.validation_split(member, y, splits[number][0], classes, groups, order)
        for number, _, _, member in copies
    ]
    calls = (  # each copy made as its training is reached
        stop_call(m.fresh(), X, Y, rows, classes, patience, epochs, batch_size, m.seed)
        for (*_, m), rows in zip(copies, parts, strict=True)
    )
    stopped, total = [], len(copies)
    for (number, held, place, member), (_, validated), (copy, epoch) in zip(
        copies, parts, run_trainings(calls), strict=True
    ):
        oof[held, place] = training.predict_proba(copy, X, held)
        stopped.append(early_stopping.Stopped(member.index, number, epoch, np.sort(validated)))
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
    validation rows when the folds chose). Each training is one call, run where trainings
    run."""
    built = [m for m in members if m.given is None]
    _refuse_not_plain(built)
    Y = classes.task.targets(y, classes.n_classes)
    if folds_stopped:
        no_rows = np.zeros(0, np.int64)
        finals = [
            early_stopping.Stopped(
                m.index, None, early_stopping.median_epoch(folds_stopped, m.index), no_rows
            )
            for m in built
        ]
    else:
        every = np.arange(inputs.count(X))
        parts = [
            early_stopping.validation_split(m, y, every, classes, groups, order) for m in built
        ]
        calls = (
            stop_call(m.fresh(), X, Y, p, classes, patience, epochs, batch_size, m.seed, False)
            for m, p in zip(built, parts, strict=True)
        )
        finals = [
            early_stopping.Stopped(m.index, None, epoch, np.sort(validated))
            for m, (_, validated), (_, epoch) in zip(
                built, parts, run_trainings(calls), strict=True
            )
        ]
    calls = (
        (train_for, m.start(), X, Y, classes.task, final.epoch, batch_size, m.seed)
        for m, final in zip(built, finals, strict=True)
    )
    trained = iter(list(run_trainings(calls)))
    models = [m.given if m.given is not None else next(trained) for m in members]
    return models, finals


def stop_call(
    model, X, Y, parts, classes: Classes, patience, epochs, batch_size, seed, retrain=True
) -> tuple:
    """The call that early-stops ``model`` (a fresh copy) on ``parts`` (its training rows, its
    validation rows) of (X, Y): ``early_stopping.stop``."""
    task = classes.task
    settings = (task, patience, epochs, batch_size, seed, retrain)
    return (early_stopping.stop, model, X, Y, *parts, *settings)


def train_for(model, X, Y, task, epochs, batch_size, seed):
    """``model`` (a plain member) trained on every row of (X, targets Y) for ``epochs``."""
    training.fit(model, X, Y, task=task, epochs=epochs, batch_size=batch_size, seed=seed)
    return model


def _refuse_not_plain(members: list[Member]) -> None:
    for member in members:
        if not member.plain:
            raise StackgenError(
                f"{member.where}: early stopping measures the validation loss in the task's own "
                "loss, so it applies to members that train as the tutorial's do (Dense layers, "
                "Adam, the task's loss); train this one without early stopping"
            )
