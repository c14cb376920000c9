"""``python -m stackgen run --predictions FILE.npz``: stack members trained anywhere from their
saved predictions, with every meta-learner under every protocol that applies. No Keras.

Instead of steps 1-11 (which make and train networks), one pass over the file
(``workdir/prediction_files.py``):

1. each member's score on the test rows, with its 95% interval;
2. every method (the baselines and each meta-learner) under every protocol asked for
   (``--protocol``): cv fits on the out-of-fold rows, holdout on half the test rows, the
   tutorial's on all of them; all but the tutorial's are scored on rows their meta-learner
   never saw;
3. the ``--meta`` stack's protocol table, with each stack's and the best member's interval and
   the paired test of the two on the same rows;
4. with ``folds``, the stack's out-of-fold score on the training rows too (each fold's rows
   predicted by a meta-learner fit on the other folds).

Everything it prints goes to ``results/predictions.json``.
"""

from __future__ import annotations

import numpy as np

from stackgen.config import Config
from stackgen.methods import experiments, metalearners, stats
from stackgen.methods.leak_audit import out_of_fold_stack
from stackgen.stack_steps import Stacked, stack_each_protocol
from stackgen.step_io import Printer, print_interval_widths, print_protocol_table
from stackgen.trust.atomic import write_json
from stackgen.workdir import prediction_files, settings


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    split, given = prediction_files.load(cfg.predictions_file, cfg.task)
    task = split.task
    settings.check(cfg, split, own_folds=True)  # cv fits on the file's own out-of-fold rows
    out.result(f"data: {split.describe()}")
    out.result(f"task: {task.name} ({split.params['task_reason']})")
    test_P, oof_P = given.test, given.oof
    members = []
    for m, name in enumerate(given.names):
        found = stats.scored(task, test_P[:, m], split.test_y)
        members.append({"member": name, **found})
        out.result(
            f"member {m + 1} ({name}): test {task.metric} {found[task.metric]:.3f} "
            f"[{found['ci_low']:.3f}, {found['ci_high']:.3f}]"
        )
    chosen = cfg.protocol_objects()
    protocol_rows = [p.rows(split, test_P, oof_P) for p in chosen]
    scores = {
        rows.protocol: experiments.evaluate(rows, cfg.seed, raw_input=False)
        for rows in protocol_rows
    }
    labels = [
        label
        for label in experiments.method_rows(len(given.names), task)
        if label in scores[chosen[0].name]
    ]
    for line in experiments.format_table(scores, labels):
        out.result(line)
    print_interval_widths(out, protocol_rows, scores)
    spec = metalearners.spec(cfg.meta, task)

    def fit(rows) -> Stacked:
        meta = metalearners.meta_learner(spec.kind, task, cfg.seed)
        meta.fit(rows.fit_P, rows.fit_y, None, rows.fit_w)
        return Stacked(meta.predict_proba(rows.score_P))

    table, _ = stack_each_protocol(out, split, protocol_rows, fit, saved=None)
    print_protocol_table(out, table, "stacked", task.metric)
    result = {
        **split.labels(),
        "members": members,
        "methods": scores,
        "meta": spec.kind,
        "protocols": {row["protocol"]: row for row in table},
        "seed": cfg.seed,
    }
    if given.folds is not None:
        stacked = out_of_fold_stack(
            lambda: metalearners.meta_learner(spec.kind, task, cfg.seed),
            oof_P,
            given.folds,
            split.train_y,
        )
        scored = ~np.isnan(stacked).any(axis=1)
        found = stats.scored(task, stacked[scored], split.train_y[scored])
        out.result(
            f"out of fold on {int(scored.sum())} training rows (each fold's stack fit on the "
            f"other folds): stacked {found[task.metric]:.3f} [{found['ci_low']:.3f}, "
            f"{found['ci_high']:.3f}]"
        )
        result["out_of_fold_stack"] = found
    out.wrote(write_json(out.paths.result("predictions.json"), result))
    return result
