"""Step 3's files: the members (``models/member_i.keras``), their out-of-fold predictions
(``models/oof_predictions.npz``) and the manifest that lists them (``models/members.json``);
written so that a run cut short never mixes old and new members, and read back checked against
the data and lineage."""

from __future__ import annotations

import contextlib
from pathlib import Path

import keras
import numpy as np

from stackgen.config import Config
from stackgen.data.split import Split
from stackgen.methods import member_checks, members, protocols
from stackgen.methods.members import Member, member_name
from stackgen.methods.protocols import MetaRows
from stackgen.trust.atomic import atomic_path, fault_point, write_json
from stackgen.trust.errors import StackgenError
from stackgen.workdir import lineage
from stackgen.workdir.paths import Paths, corrupt, read_json, remake_hint, require
from stackgen.workdir.safe_reads import load_keras_model
from stackgen.workdir.split_files import load_split


def save_model(model: keras.Model, path: Path) -> Path:
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def save_members(
    models: list[keras.Model],
    oof: tuple[np.ndarray, np.ndarray] | None,
    paths: Paths,
    cfg: Config,
    split: Split,
    sources: list[Member] | None = None,
    cv_skipped: str | None = None,
    early_stopping: dict | None = None,
    warnings: list[str] | None = None,
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
    written = [paths.member(i) for i in range(1, len(models) + 1)]
    cfg = cfg.sized(split.n_features, split.n_classes)
    with contextlib.ExitStack() as renames:  # on success, each file is renamed into place
        for i, (model, path) in enumerate(zip(models, written, strict=True), start=1):
            model.save(renames.enter_context(atomic_path(path)))
            fault_point(f"after-member:{i}")
        if oof is not None:
            probs, fold_of, *rowwise = oof
            audit = {}
            if rowwise:  # the leak audit's row-wise folds, beside the honest ones
                audit = {"rowwise_probs": rowwise[0][0], "rowwise_fold_of": rowwise[0][1]}
            _save_npz(
                renames.enter_context(atomic_path(paths.oof)),
                probs=probs,
                fold_of=fold_of,
                **audit,
            )
        paths.members_manifest.unlink(missing_ok=True)
    if oof is None:  # made without the cv protocol: an older file would not match these members
        paths.oof.unlink(missing_ok=True)
    for stale in paths.models_dir.glob("member_*.keras"):
        if stale not in written:
            stale.unlink()
    n = len(models)
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
            "warnings": list(warnings or ()),
            "epochs": cfg.epochs,
            "early_stopping": early_stopping,
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
    """Step 3's out-of-fold probabilities, checked against the data and the members. Under a
    time order the first block has none (its rows are NaN, and its fold -1)."""
    return _load_oof(paths, split, n_members, ("",))[0][0]


def load_audit(paths: Paths, split: Split, n_members: int):
    """The leak audit's two sets of (out-of-fold probabilities, folds): the honest ones
    (group-wise or forward-chaining) and the row-wise ones step 3 makes beside them; None where
    it did not (rows with no groups and no time order)."""
    found = _load_oof(paths, split, n_members, ("", "rowwise_"), optional="rowwise_")
    return None if len(found) < 2 else tuple(found)


def _load_oof(paths: Paths, split: Split, n_members: int, prefixes, optional: str | None = None):
    """(probabilities, folds) for each of ``prefixes`` present in the file, read once and
    checked; only the ``optional`` prefix may be absent."""
    path = require(paths.oof, paths)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {
                prefix: (npz[f"{prefix}probs"], npz[f"{prefix}fold_of"])
                for prefix in prefixes
                if prefix != optional or f"{prefix}probs" in npz.files
            }
    except Exception as exc:
        raise corrupt(path, paths, exc) from None
    expected = (len(split.train_y), n_members, split.n_classes)
    for probs, fold_of in arrays.values():
        predicted = fold_of >= 0 if fold_of.shape == (len(split.train_y),) else None
        if (
            probs.shape != expected
            or predicted is None
            or not np.isfinite(probs[predicted]).all()
            or not np.isnan(probs[~predicted]).all()
        ):
            raise corrupt(path, paths, f"shape {probs.shape}, expected {expected} and finite")
    lineage.verify(paths, path)
    return list(arrays.values())


def load_members(paths: Paths, split: Split) -> list[keras.Model]:
    """Load exactly the members the latest step-3 run listed, checking names and shapes."""
    manifest = read_json(paths.members_manifest, paths)
    lineage.verify(paths, paths.members_manifest)
    names = manifest.get("members")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise corrupt(paths.members_manifest, paths, "no member list")
    loaded = []
    for index, file_name in enumerate(names, start=1):
        path = paths.models_dir / file_name
        if file_name != paths.member(index).name:
            raise corrupt(paths.members_manifest, paths, f"unexpected entry {file_name!r}")
        model = load_keras_model(path, paths)
        reads = member_checks.member_reads(model)
        problem = member_checks.reads_problem(model, split.test_X, reads)
        if model.output_shape[-1] != split.n_outputs:
            problem = f"has {model.output_shape[-1]} outputs, the data {split.n_outputs}"
        if model.name != member_name(index) or problem:
            raise StackgenError(
                f"{paths.rel(path)} is {model.name}, which {problem or 'is misnamed'}; expected "
                f"{member_name(index)} for {split.describe()}: {remake_hint(path, paths)}"
            )
        lineage.verify(paths, path)  # after the checks above: they say more when they fail
        loaded.append(model)
    return loaded


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
    chosen = runnable_protocols(cfg, out)
    test_P = np.stack(members.member_probabilities(models, split.test_X), axis=1)
    needs_oof = any(p.needs_oof for p in chosen)
    oof = load_oof(out.paths, split, len(models)) if needs_oof else None
    return split, models, test_P, protocols.rows_for(split, test_P, oof, chosen)


def runnable_protocols(cfg: Config, out) -> list[protocols.Protocol]:
    """The protocols ``cfg`` asks for, without the cv protocol where step 3 could not make its
    out-of-fold predictions (members trained elsewhere, without train arrays or a training
    configuration), said in one line; refused when cv is all that was asked for."""
    asked = cfg.protocol_objects()
    manifest = read_json(out.paths.members_manifest, out.paths)
    why = manifest.get("cv_skipped")
    if not any(p.needs_oof for p in asked) or not why:
        return asked
    others = [p for p in asked if not p.needs_oof]
    if not others:
        raise StackgenError(
            f"the cv protocol cannot run here: {why}; use --protocol holdout or tutorial"
        )
    out.result(f"note: the cv protocol is skipped: {why}")
    return others
