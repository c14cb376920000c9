"""The tutorial's MLP, the ensemble members built from it, and their saving and loading.

Every layer gets a name derived from its model's name (``member_3_hidden``), so members can be
embedded side by side in one functional model without the "name is used N times" errors the
tutorial's readers hit, and without renaming private attributes after the fact.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from stackgen import training
from stackgen.artifacts import (
    Paths,
    StackgenError,
    atomic_path,
    corrupt,
    read_json,
    remake_hint,
    require,
    write_json,
)
from stackgen.config import Config
from stackgen.data import Split, one_hot
from stackgen.side_by_side import fit_side_by_side


def build_mlp(name: str, n_features: int, n_classes: int, hidden_units: int) -> keras.Model:
    """Dense(hidden, relu) -> Dense(classes, softmax), Glorot-uniform weights, global seed."""
    inputs = keras.Input(shape=(n_features,), name=f"{name}_input")
    hidden = keras.layers.Dense(hidden_units, activation="relu", name=f"{name}_hidden")(inputs)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name=f"{name}_output")(hidden)
    return keras.Model(inputs, outputs, name=name)


def train_mlp(
    name: str, split: Split, cfg: Config, seed: int, *, validate: bool
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build and fit one MLP on the training rows; ``seed`` fixes its weights and its shuffles."""
    training.seed_everything(seed)
    model = build_mlp(name, split.n_features, split.n_classes, cfg.hidden_units)
    validation = (split.test_X, one_hot(split.test_y, split.n_classes)) if validate else None
    history = training.fit(
        model,
        split.train_X,
        one_hot(split.train_y, split.n_classes),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=seed,
        validation=validation,
    )
    return model, history


def train_members(split: Split, cfg: Config) -> list[keras.Model]:
    """Members 1..N, each from its own seed (weights and shuffles), trained side by side."""
    seeds = [cfg.member_seed(i) for i in range(1, cfg.members + 1)]
    models = []
    for i, seed in enumerate(seeds, start=1):
        training.seed_everything(seed)
        models.append(
            build_mlp(member_name(i), split.n_features, split.n_classes, cfg.hidden_units)
        )
    data = (split.train_X, one_hot(split.train_y, split.n_classes))
    fit_side_by_side(
        models, [data] * len(models), epochs=cfg.epochs, batch_size=cfg.batch_size, seeds=seeds
    )
    return models


def member_name(index: int) -> str:
    return f"member_{index}"


def save_model(model: keras.Model, path: Path) -> Path:
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def save_members(members: list[keras.Model], paths: Paths, cfg: Config, split: Split) -> list[Path]:
    """Save members 1..N, drop members left from a larger earlier run, then write the manifest.

    The manifest is removed first and written last: a run interrupted in between leaves no
    manifest, so later steps ask for step 3 again instead of mixing old and new members.
    """
    paths.members_manifest.unlink(missing_ok=True)
    written = [save_model(m, paths.member(i)) for i, m in enumerate(members, start=1)]
    for stale in paths.models_dir.glob("member_*.keras"):
        if stale not in written:
            stale.unlink()
    write_json(
        paths.members_manifest,
        {
            "members": [p.name for p in written],
            "seed": cfg.seed,
            "member_seeds": [cfg.member_seed(i) for i in range(1, len(members) + 1)],
            "epochs": cfg.epochs,
            "hidden_units": cfg.hidden_units,
            "n_features": split.n_features,
            "n_classes": split.n_classes,
        },
    )
    return written


def load_model(path: Path, step: int, paths: Paths) -> keras.Model:
    require(path, step, paths)
    try:
        # safe_mode refuses Lambda layers and other deserialisation that would run code.
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for unreadable archives
        raise corrupt(path, step, paths, exc) from None


def load_members(paths: Paths, split: Split) -> list[keras.Model]:
    """Load exactly the members the latest step-3 run listed, checking names and shapes."""
    manifest = read_json(paths.members_manifest, 3, paths)
    names = manifest.get("members")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise corrupt(paths.members_manifest, 3, paths, "no member list")
    members = []
    for index, file_name in enumerate(names, start=1):
        path = paths.models_dir / file_name
        if file_name != paths.member(index).name:
            raise corrupt(paths.members_manifest, 3, paths, f"unexpected entry {file_name!r}")
        model = load_model(path, 3, paths)
        expected = (split.n_features, split.n_classes)
        got = (model.input_shape[-1], model.output_shape[-1])
        if model.name != member_name(index) or got != expected:
            raise StackgenError(
                f"{paths.rel(path)} is {model.name} with {got[0]} inputs and {got[1]} classes, "
                f"expected {member_name(index)} with {expected[0]} and {expected[1]}: "
                f"{remake_hint(3)}"
            )
        members.append(model)
    return members


def member_probabilities(members: list[keras.Model], X: np.ndarray) -> list[np.ndarray]:
    """Each member's class probabilities for ``X``: a list of [n_samples, n_classes] arrays."""
    return [training.predict_proba(m, X) for m in members]
