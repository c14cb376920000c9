"""The tutorial's MLP, the ensemble members built from it, and their saving and loading.

Every layer gets a name derived from its model's name (``member_3_hidden``), so members can be
embedded side by side in one functional model without the "name is used N times" errors the
tutorial's readers hit, and without renaming private attributes after the fact.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import keras
import numpy as np

from stackgen.config import Config
from stackgen.data import inputs
from stackgen.data.split import Split, load_split
from stackgen.methods import imported, protocols, training
from stackgen.methods.protocols import MetaRows, cv_folds
from stackgen.methods.side_by_side import fit_side_by_side
from stackgen.trust import lineage
from stackgen.trust.atomic import atomic_path, fault_point, write_json
from stackgen.trust.errors import StackgenError
from stackgen.trust.paths import Paths, corrupt, read_json, remake_hint, require
from stackgen.trust.safe_load import load_keras_model


def build_mlp(
    name: str,
    n_features: int,
    n_outputs: int,
    hidden: int | tuple[int, ...],
    activation: str = "softmax",
) -> keras.Model:
    """Dense(h, relu) for each hidden width -> Dense(outputs, softmax), or Dense(1, linear) for
    regression; Glorot-uniform weights drawn from the global seed. The tutorial's MLP is
    ``hidden=25``."""
    widths = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    x = inputs = keras.Input(shape=(n_features,), name=f"{name}_input")
    for depth, width in enumerate(widths, start=1):
        suffix = "hidden" if len(widths) == 1 else f"hidden_{depth}"
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_{suffix}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=activation, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


def train_mlp(
    name: str, split: Split, cfg: Config, seed: int, *, validate: bool
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build and fit one MLP on the training rows; ``seed`` fixes its weights and its shuffles."""
    training.seed_everything(seed)
    cfg = cfg.sized(split.n_features, split.n_classes)
    model = build_mlp(
        name, split.n_features, split.n_outputs, cfg.hidden_units, split.task.activation
    )
    validation = (split.test_X, split.targets(split.test_y)) if validate else None
    history = training.fit(
        model,
        split.train_X,
        split.targets(split.train_y),
        task=split.task,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=seed,
        validation=validation,
    )
    return model, history


def train_members(split: Split, cfg: Config) -> list[keras.Model]:
    """Members 1..N, each from its own seed (weights and shuffles), trained side by side."""
    models = [_seeded_member(member_name(i), i, split, cfg) for i in range(1, cfg.members + 1)]
    data = (split.train_X, split.targets(split.train_y))
    fit_side_by_side(
        models,
        [data] * len(models),
        task=split.task,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seeds=[cfg.member_seed(i) for i in range(1, cfg.members + 1)],
    )
    return models


def out_of_fold(split: Split, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities [train rows, members, classes] and each row's fold.

    For every fold, every member is retrained (same seed and architecture) on the other folds'
    rows and predicts only the held-out fold's rows, so no prediction comes from a model that saw
    its row. All folds x members train side by side in one loop.
    """
    fold_of = cv_folds(split.train_y, cfg.folds, cfg.seed, split.task)
    Y = split.targets(split.train_y)
    # A member's copies start from its own seed's weights in every fold: one model per member,
    # listed once per fold.
    starts = [_seeded_member(member_name(i), i, split, cfg) for i in range(1, cfg.members + 1)]
    models, datasets, seeds, held_out = [], [], [], []
    for fold in range(cfg.folds):
        fit_rows = np.flatnonzero(fold_of != fold)
        for i in range(1, cfg.members + 1):
            models.append(starts[i - 1])
            datasets.append((split.train_X[fit_rows], Y[fit_rows]))
            seeds.append(cfg.member_seed(i))
            held_out.append((np.flatnonzero(fold_of == fold), i - 1))
    trained = fit_side_by_side(
        models,
        datasets,
        task=split.task,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seeds=seeds,
    )
    oof = np.full((len(split.train_y), cfg.members, split.n_classes), np.nan, dtype=np.float32)
    for model, weights, (rows, member) in zip(models, trained, held_out, strict=True):
        model.set_weights(weights)
        oof[rows, member] = training.predict_proba(model, split.train_X[rows])
    return oof, fold_of


def _seeded_member(name: str, index: int, split: Split, cfg: Config) -> keras.Model:
    training.seed_everything(cfg.member_seed(index))
    cfg = cfg.sized(split.n_features, split.n_classes)
    return build_mlp(
        name,
        split.n_features,
        split.n_outputs,
        cfg.member_architecture(index),
        split.task.activation,
    )


def member_name(index: int) -> str:
    return f"member_{index}"


def save_model(model: keras.Model, path: Path) -> Path:
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def save_members(
    members: list[keras.Model],
    oof: tuple[np.ndarray, np.ndarray],
    paths: Paths,
    cfg: Config,
    split: Split,
    sources: list[imported.Imported] | None = None,
    cv_skipped: str | None = None,
) -> list[Path]:
    """Save members 1..N and their out-of-fold predictions (None: not made, without the cv
    protocol), drop members left from a larger earlier run, then write the manifest. Members
    trained elsewhere come with their ``sources`` (the files, hashes and what was done to their
    outputs), and ``cv_skipped`` says why the cv protocol cannot use them.

    Everything is first written to temporary files; if any write fails (a full disk), nothing
    is replaced. Only then is the manifest removed and the files renamed into place, and the new
    manifest is written last: a run killed among the renames leaves no manifest, so later steps
    ask for step 3 again instead of mixing old and new members.
    """
    written = [paths.member(i) for i in range(1, len(members) + 1)]
    cfg = cfg.sized(split.n_features, split.n_classes)
    with contextlib.ExitStack() as renames:  # on success, each file is renamed into place
        for i, (model, path) in enumerate(zip(members, written, strict=True), start=1):
            model.save(renames.enter_context(atomic_path(path)))
            fault_point(f"after-member:{i}")
        if oof is not None:
            probs, fold_of = oof
            _save_npz(renames.enter_context(atomic_path(paths.oof)), probs=probs, fold_of=fold_of)
        paths.members_manifest.unlink(missing_ok=True)
    if oof is None:  # made without the cv protocol: an older file would not match these members
        paths.oof.unlink(missing_ok=True)
    for stale in paths.models_dir.glob("member_*.keras"):
        if stale not in written:
            stale.unlink()
    n = len(members)
    write_json(
        paths.members_manifest,
        {
            "members": [p.name for p in written],
            "seed": cfg.seed,
            "member_seeds": [cfg.member_seed(i) for i in range(1, n + 1)],
            "architectures": None
            if sources
            else [list(cfg.member_architecture(i)) for i in range(1, n + 1)],
            "imported": [item.record() for item in sources] if sources else None,
            "cv_skipped": cv_skipped,
            "epochs": cfg.epochs,
            "folds": cfg.folds,
            "n_features": split.n_features,
            "n_classes": split.n_classes,
            "task": split.task.name,
            "data": split.describe(),
        },
    )
    return written


def _save_npz(path: Path, **arrays) -> None:
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def load_oof(paths: Paths, split: Split, n_members: int) -> np.ndarray:
    """Step 3's out-of-fold probabilities, checked against the data and the members."""
    path = require(paths.oof, paths)
    try:
        with np.load(path, allow_pickle=False) as npz:
            probs = npz["probs"]
    except Exception as exc:
        raise corrupt(path, paths, exc) from None
    expected = (len(split.train_y), n_members, split.n_classes)
    if probs.shape != expected or not np.isfinite(probs).all():
        raise corrupt(path, paths, f"shape {probs.shape}, expected {expected} and finite")
    lineage.verify(paths, path)
    return probs


def load_members(paths: Paths, split: Split) -> list[keras.Model]:
    """Load exactly the members the latest step-3 run listed, checking names and shapes."""
    manifest = read_json(paths.members_manifest, paths)
    lineage.verify(paths, paths.members_manifest)
    names = manifest.get("members")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise corrupt(paths.members_manifest, paths, "no member list")
    members = []
    for index, file_name in enumerate(names, start=1):
        path = paths.models_dir / file_name
        if file_name != paths.member(index).name:
            raise corrupt(paths.members_manifest, paths, f"unexpected entry {file_name!r}")
        model = load_keras_model(path, paths)
        reads = imported.member_reads(model)
        problem = imported.reads_problem(model, split, reads)
        if model.output_shape[-1] != split.n_outputs:
            problem = f"has {model.output_shape[-1]} outputs, the data {split.n_outputs}"
        if model.name != member_name(index) or problem:
            raise StackgenError(
                f"{paths.rel(path)} is {model.name}, which {problem or 'is misnamed'}; expected "
                f"{member_name(index)} for {split.describe()}: {remake_hint(path, paths)}"
            )
        lineage.verify(paths, path)  # after the checks above: they say more when they fail
        members.append(model)
    return members


def member_probabilities(members: list[keras.Model], X: inputs.Inputs) -> list[np.ndarray]:
    """Each member's class probabilities for ``X``: a list of [n_samples, n_classes] arrays
    ([n_samples, 1] predicted values for regression)."""
    return [training.predict_proba(m, X) for m in members]


def load_for_step(out) -> tuple[Split, list[keras.Model]]:
    """The split and step 3's members, for a step that stacks them; says what it loaded."""
    paths = out.paths
    split = load_split(paths)
    models = load_members(paths, split)
    for i in range(1, len(models) + 1):
        out.info(f">loaded {paths.rel(paths.member(i))}")
    out.info(f"Loaded {len(models)} models")
    return split, models


def for_stacking(cfg: Config, out) -> tuple[Split, list[keras.Model], np.ndarray, list[MetaRows]]:
    """What a stacking step starts from: the split, step 3's members, their test probabilities
    [rows, members, classes] and the rows of each protocol ``cfg`` asks for."""
    split, models = load_for_step(out)
    cfg = runnable_protocols(cfg, out)
    test_P = np.stack(member_probabilities(models, split.test_X), axis=1)
    oof = load_oof(out.paths, split, len(models)) if "cv" in cfg.protocols else None
    return split, models, test_P, protocols.rows_for(split, test_P, oof, cfg)


def runnable_protocols(cfg: Config, out) -> Config:
    """``cfg`` without the cv protocol where step 3 could not make its out-of-fold predictions
    (members trained elsewhere, without train arrays or a training configuration), said in
    one line; refused when cv is all that was asked for."""
    manifest = read_json(out.paths.members_manifest, out.paths)
    why = manifest.get("cv_skipped")
    if "cv" not in cfg.protocols or not why:
        return cfg
    others = tuple(p for p in cfg.protocols if p != "cv")
    if not others:
        raise StackgenError(
            f"the cv protocol cannot run here: {why}; use --protocol holdout or tutorial"
        )
    out.result(f"note: the cv protocol is skipped: {why}")
    return dataclasses.replace(cfg, protocols=others)
