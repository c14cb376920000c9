"""Step 3: N members, each with its own seed, saved as models/member_i.keras.

Script: scripts/03_train_members.py. With the cv protocol it also makes every member's
out-of-fold predictions on the training rows (models/oof_predictions.npz). With
``--member-files`` it imports members trained elsewhere instead: checked, renamed member_1..N,
their outputs made class probabilities; under cv a fresh copy of each architecture is trained on
the folds. Either way the members are made and trained by the estimators' own code
(``methods/members.py``, ``methods/fitting.py``; ``workdir/own_members.py`` says which).
"""

from __future__ import annotations

from stackgen import cluster
from stackgen.config import Config
from stackgen.data import inputs
from stackgen.data.split import TableFile
from stackgen.methods import early_stopping, member_checks
from stackgen.step_io import Printer
from stackgen.trust.errors import StackgenError
from stackgen.workdir import own_members
from stackgen.workdir.member_files import save_members
from stackgen.workdir.split_files import load_split

NUMBER = 3
ASSUMPTION = (
    "note: these members were trained outside stackgen, which cannot check that they never saw "
    "the test rows; every test score below assumes they did not"
)


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = load_split(paths)
    sources, cv_skipped, warned = None, None, []
    if cfg.member_files:
        sources, cv_skipped = imported(split, cfg)
        out.result(ASSUMPTION)
        for item in sources:
            out.result(f"{item.name}: {item.source.name} ({item.output})")
            for lost in member_checks.truncated_inputs(item.given, split.test_X, item.reads):
                warned.append(
                    f"warning: {item.name} ({item.source.name}): {lost}; save it with float32 "
                    "inputs, or give the data in the units it was trained on"
                )
                out.result(warned[-1])
        if cv_skipped:
            out.result(f"note: the cv protocol is skipped: {cv_skipped}")
        cv = cfg.needs_oof and not cv_skipped
        if cv:
            out.result(
                f"note: the cv protocol trains a fresh copy of each of the {len(sources)} "
                f"members on each of the {cfg.folds} folds, {cfg.epochs} epochs each (--epochs): "
                f"{len(sources) * cfg.folds} trainings"
            )
        chosen = sources
    else:
        if not (split.flat or inputs.is_images(split.train_X)) or not split.has_train:
            raise StackgenError(
                "step 3 trains MLPs on feature columns (small CNNs on images), and this data "
                + ("has no train arrays" if not split.has_train else f"is {split.describe()}")
                + ": give your trained members with --member-files A.keras B.keras ..."
            )
        chosen = own_members.tutorial_members(split, cfg)
        cv = cfg.needs_oof
    with cluster.trainings_on(cfg.scheduler) as trainings:
        models, oof, stopped = own_members.train_and_out_of_fold(chosen, split, cfg, cv)
        stopping = early_stopping_said(out, cfg, *stopped, len(split.train_y)) if stopped else None
        if oof is not None and (split.grouped or split.ordered):
            # The leak audit (step 4): what row-wise folds, blind to the groups or the time,
            # would have reported on the same rows.
            out.info(
                f"leak audit: {len(chosen) * cfg.folds} more trainings on row-wise folds, to "
                "show what they would have reported"
            )
            oof = (*oof, own_members.out_of_fold(chosen, split, cfg, rowwise=True))
    if cfg.scheduler:
        out.info(cluster.tasks_said(trainings))
    # Saved only once all are trained: an interrupted run leaves the previous members intact.
    written = save_members(models, oof, paths, cfg, split, sources, cv_skipped, stopping, warned)
    for path in written:
        out.result(f">Saved {paths.rel(path)}")
    outputs = [*written, *([paths.oof] if oof else []), paths.members_manifest]
    params = {"member_sources": [item.record() for item in sources]} if sources else {}
    out.made(NUMBER, outputs, [paths.data], already_said=tuple(written), **params)
    return {"members": [paths.rel(p) for p in written]}


def imported(split, cfg: Config) -> tuple[list, str | None]:
    """The --member-files, loaded and checked against ``split``, and why the cv protocol must
    skip them (or None): refused in one line where they cannot be stacked on this data, or
    where the cv protocol, all that was asked for, cannot retrain them. ``run`` calls it on
    the split before step 1 writes, so that a bad member leaves the work dir as it was."""
    if isinstance(split.source, TableFile):
        raise StackgenError(
            "--member-files stacks members as you trained them, and step 1 standardised "
            "this table's columns: give your rows as the members read them, in --data "
            "FILE.npz (docs/own-members.md)"
        )
    sources = own_members.imported_members(split, cfg)
    cv_skipped = cv_refusal(sources, split) if cfg.needs_oof else None
    if cv_skipped and all(p.needs_oof for p in cfg.protocol_objects()):
        raise StackgenError(
            f"the cv protocol cannot run here: {cv_skipped}; use --protocol holdout or tutorial"
        )
    return sources, cv_skipped


def cv_refusal(imported: list, split) -> str | None:
    """Why the cv protocol cannot retrain these members, or None."""
    if not split.has_train:
        return "the data has no train arrays to retrain the members on"
    for item in imported:
        if item.settings is None:
            return f"{item.source.name} cannot be retrained: {item.why_not}"
    return None


def early_stopping_said(out, cfg: Config, stopped: list, finals: list, n_train: int) -> dict:
    """Step 3's lines on the epochs early stopping chose, and what members.json records."""
    fraction = f"{early_stopping.VALIDATION_FRACTION:.0%}"
    out.result(
        f"early stopping (--early-stopping {cfg.early_stopping}, at most {cfg.epochs} epochs): "
        f"each fit validated on {fraction} of its own training rows"
    )
    record = {"patience": cfg.early_stopping, "validation_fraction": fraction, "members": []}
    for final in finals:
        folds = [s.epoch for s in stopped if s.member == final.member]
        how = (
            f"epochs {', '.join(map(str, folds))} on the folds; trains {final.epoch} (their "
            f"median) on all {n_train} training rows"
            if folds
            else f"epoch {final.epoch} on its validation rows; trains {final.epoch} on all "
            f"{n_train} training rows"
        )
        out.result(f"member {final.member}: {how}")
        record["members"].append(
            {"member": final.member, "fold_epochs": folds, "final_epochs": final.epoch}
        )
    return record
