"""Step 3: N members, each with its own seed, saved as models/member_i.keras.

Script: scripts/03_train_members.py. With the cv protocol it also makes every member's
out-of-fold predictions on the training rows (models/oof_predictions.npz). With
``--member-files`` it imports members trained elsewhere instead (methods/imported.py): checked,
renamed member_1..N, their outputs made class probabilities; under cv a fresh copy of each
architecture is trained on the folds.
"""

from __future__ import annotations

from stackgen.config import Config
from stackgen.data.split import load_split
from stackgen.methods import imported, members
from stackgen.step_io import Printer
from stackgen.trust.errors import StackgenError

NUMBER = 3


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = load_split(paths)
    sources, cv_skipped = None, None
    if cfg.member_files:
        if split.params.get("source") == "table":
            raise StackgenError(
                "--member-files stacks members as you trained them, and step 1 standardised "
                "this table's columns: give your rows as the members read them, in --data "
                "FILE.npz (docs/own-members.md)"
            )
        sources = imported.import_members(cfg.member_files, split)
        out.result(imported.ASSUMPTION)
        for i, item in enumerate(sources, start=1):
            out.result(f"{members.member_name(i)}: {item.source.name} ({item.output})")
        models = [item.model for item in sources]
        cv_skipped = imported.cv_refusal(sources, split) if "cv" in cfg.protocols else None
        if cv_skipped:
            out.result(f"note: the cv protocol is skipped: {cv_skipped}")
        cv = "cv" in cfg.protocols and not cv_skipped
        if cv:
            out.result(
                f"note: the cv protocol trains a fresh copy of each of the {len(models)} "
                f"members on each of the {cfg.folds} folds, {cfg.epochs} epochs each (--epochs): "
                f"{len(models) * cfg.folds} trainings"
            )
        oof = imported.out_of_fold(sources, split, cfg) if cv else None
    else:
        if not split.flat or not split.has_train:
            raise StackgenError(
                "step 3 trains MLPs on feature columns, and this data "
                + ("has no train arrays" if not split.has_train else f"is {split.describe()}")
                + ": give your trained members with --member-files A.keras B.keras ..."
            )
        models = members.train_members(split, cfg)
        oof = members.out_of_fold(split, cfg) if "cv" in cfg.protocols else None
    # Saved only once all are trained: an interrupted run leaves the previous members intact.
    written = members.save_members(models, oof, paths, cfg, split, sources, cv_skipped)
    for path in written:
        out.result(f">Saved {paths.rel(path)}")
    outputs = [*written, *([paths.oof] if oof else []), paths.members_manifest]
    params = {"member_sources": [item.record() for item in sources]} if sources else {}
    out.made(NUMBER, outputs, [paths.data], already_said=tuple(written), **params)
    return {"members": [paths.rel(p) for p in written]}
