"""Step 3: N members, each with its own seed, saved as models/member_i.keras.

Script: scripts/03_train_members.py. With the cv protocol it also makes every member's
out-of-fold predictions on the training rows (models/oof_predictions.npz).
"""

from __future__ import annotations

from stackgen.config import Config
from stackgen.data.split import load_split
from stackgen.methods import members
from stackgen.step_io import Printer

NUMBER = 3


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = load_split(paths)
    models = members.train_members(split, cfg)
    oof = members.out_of_fold(split, cfg) if "cv" in cfg.protocols else None
    # Saved only once all are trained: an interrupted run leaves the previous members intact.
    written = members.save_members(models, oof, paths, cfg, split)
    for path in written:
        out.result(f">Saved {paths.rel(path)}")
    outputs = [*written, *([paths.oof] if oof else []), paths.members_manifest]
    out.made(NUMBER, outputs, [paths.data], already_said=tuple(written))
    return {"members": [paths.rel(p) for p in written]}
