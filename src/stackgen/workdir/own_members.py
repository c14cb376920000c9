"""The members the command line makes itself, and the ones it imports: ``--members`` tutorial
MLPs (``--diverse``: of different widths and depths), or the ``--member-files`` given; each
seeded ``--seed`` + its place, checked against the data, trained by the estimators' own code
(``methods/fitting.py``)."""

from __future__ import annotations

from stackgen.config import Config
from stackgen.data import inputs
from stackgen.data.split import Split
from stackgen.methods import fitting
from stackgen.methods.members import Member, member_from, small_cnn, tutorial_mlp
from stackgen.methods.protocols import CrossValidated, fold_ids


def tutorial_members(split: Split, cfg: Config) -> list[Member]:
    """Members 1..N: the tutorial's MLP (widened for wide data, or of the --diverse
    architectures), or for images a small CNN (``small_cnn``); member i seeded
    ``cfg.member_seed(i)``."""
    sized = cfg.sized(split.n_features, split.n_classes)
    images = inputs.is_images(split.train_X)
    return [
        member_from(
            small_cnn() if images else tutorial_mlp(sized.member_architecture(i)),
            i,
            cfg.member_seed(i),
            split.train_X,
            split.classes,
            f"member {i}",
        )
        for i in range(1, cfg.members + 1)
    ]


def imported_members(split: Split, cfg: Config) -> list[Member]:
    """The --member-files, loaded safely and checked against the data, in order."""
    return [
        member_from(
            path, i, cfg.member_seed(i), split.test_X, split.classes, f"--member-files {path.name}"
        )
        for i, path in enumerate(cfg.member_files, start=1)
    ]


def train(members: list[Member], split: Split, cfg: Config) -> list:
    """The members' final models: the tutorial's trained on the training rows, imported ones
    as they are; each wrapped as ``member_i``."""
    models = fitting.final_models(
        members,
        split.train_X,
        split.train_y,
        split.classes,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        target=target_of(split),
        sample_weight=split.train_weights,
    )
    return [m.wrapped(model, target_of(split)) for m, model in zip(members, models, strict=True)]


def train_and_out_of_fold(members: list[Member], split: Split, cfg: Config, cv: bool):
    """The members' final models, their out-of-fold predictions and folds (with ``cv``; else
    None), and under ``--early-stopping`` the epochs chosen ((each fold copy's, each final
    member's) ``early_stopping.Stopped``; else None): what step 3 and the repeat study train."""
    if not cfg.early_stopping:
        return train(members, split, cfg), out_of_fold(members, split, cfg) if cv else None, None
    stopped: list = []  # the folds' chosen epochs first: the final members train their median
    oof = out_of_fold(members, split, cfg, stopped=stopped) if cv else None
    models, finals = train_early_stopped(members, split, cfg, stopped)
    return models, oof, (stopped, finals)


def train_early_stopped(
    members: list[Member], split: Split, cfg: Config, folds_stopped: list | None
) -> tuple[list, list]:
    """``train`` under ``--early-stopping``: each member trained on every training row for the
    median of its folds' chosen epochs (``folds_stopped``), or, without folds, for the epoch its
    own validation rows chose; and the epoch each trained for."""
    models, finals = fitting.final_models_early_stopped(
        members,
        split.train_X,
        split.train_y,
        split.classes,
        folds_stopped,
        **_stopping(split, cfg),
    )
    wrapped = [m.wrapped(model, target_of(split)) for m, model in zip(members, models, strict=True)]
    return wrapped, finals


def _stopping(split: Split, cfg: Config, rowwise: bool = False) -> dict:
    """``--early-stopping``'s settings for ``fitting``: its patience, the epochs and batches,
    and the groups and time order its validation rows respect (none for the leak audit's
    row-wise folds)."""
    return {
        "patience": cfg.early_stopping,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "groups": None if rowwise else split.train_groups,
        "order": None if rowwise else split.order("train"),
    }


def out_of_fold(
    members: list[Member],
    split: Split,
    cfg: Config,
    rowwise: bool = False,
    stopped: list | None = None,
):
    """The cv protocol's out-of-fold probabilities [train rows, members, classes] and each
    row's fold, from fresh copies of ``members`` trained on the other folds: group-wise with
    groups, forward-chaining with a time order. With ``rowwise``, the same from plain
    (shuffled, row by row) folds, which ignore the groups or the time: the leak audit's. Under
    ``--early-stopping`` each copy is early-stopped on rows of its own fit rows, and its record
    (``early_stopping.Stopped``) appended to ``stopped``."""
    protocol = CrossValidated(cfg.folds, cfg.seed)
    if rowwise:
        splits = protocol.stacking_cv(split.task).split(split.train_X, split.train_y)
    else:
        splits = protocol.oof_splits(split)
    if cfg.early_stopping:
        oof, records = fitting.out_of_fold_early_stopped(
            members,
            split.train_X,
            split.train_y,
            split.classes,
            splits,
            **_stopping(split, cfg, rowwise),
        )
        if stopped is not None:
            stopped.extend(records)
        return oof, fold_ids(splits, len(split.train_y))
    oof = fitting.out_of_fold(
        members,
        split.train_X,
        split.train_y,
        split.classes,
        splits,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        target=target_of(split),
        sample_weight=split.train_weights,
    )
    return oof, fold_ids(splits, len(split.train_y))


def target_of(split: Split) -> tuple[float, float] | None:
    """A regression target's mean and standard deviation on the training rows (the split keeps
    it standardised), for members that predict it in its own units; None for classes."""
    if split.task.name != "regression" or "target_mean" not in split.params:
        return None
    return float(split.params["target_mean"]), split.target_scale
