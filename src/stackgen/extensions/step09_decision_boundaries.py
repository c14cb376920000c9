"""Step 9: each member's, the stacked meta-learner's and the integrated network's regions.

Script: scripts/09_decision_boundaries.py. Draws the meta-learner step 4 saved last and the
network step 5 saved, for an honest protocol when one ran; two-feature classification only.
"""

from __future__ import annotations

import numpy as np

from stackgen import plots, step_skips
from stackgen.config import Config
from stackgen.methods import members, metalearners, training
from stackgen.step_io import Printer, stacking_inputs
from stackgen.workdir import lineage, member_files, metalearner_files, served
from stackgen.workdir.safe_reads import load_keras_model
from stackgen.workdir.split_files import load_split

NUMBER = 9


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = load_split(paths)
    why = step_skips.reason_in(paths.workdir, NUMBER)
    if why:
        out.result(step_skips.said(NUMBER, why))
        return {"figure": None, "skipped": why}
    split, models = member_files.load_for_step(out)
    protocol = next((p for p in ("holdout", "cv") if p in cfg.protocols), "tutorial")
    _, meta_file = served.served_stack(paths, protocol)
    meta, kind = metalearner_files.load_served(paths, meta_file, len(models) * split.n_outputs)
    network_path = paths.stacked_network_for(protocol)
    network = load_keras_model(network_path, paths)
    lineage.verify(paths, network_path)

    def stack(X):
        P = np.stack(members.member_probabilities(models, X), axis=1)
        return meta.predict_proba(P, X)

    panels = [
        (m.name.replace("_", " "), lambda X, m=m: training.predict_proba(m, X)) for m in models
    ]
    panels += [
        (f"{metalearners.stack_name(kind).replace('_', ' ')} ({protocol})", stack),
        (f"integrated network ({protocol})", lambda X: training.predict_proba(network, X)),
    ]
    figure = plots.plot_decision_regions(panels, split, paths.figure("decision_boundaries.png"))
    inputs = [
        *stacking_inputs(paths, len(models), cfg),
        paths.result("stack_logistic.json"),
        meta_file,
        network_path,
    ]
    out.made(NUMBER, [figure], inputs, protocol=protocol)
    return {"figure": paths.rel(figure), "protocol": protocol}
