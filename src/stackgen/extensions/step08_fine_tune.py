"""Step 8: the integrated network with its head trained, then everything trained gently.

Script: scripts/08_fine_tune.py. Fine-tuning unfreezes the members after the head is trained
and trains the whole network at a tenth of Adam's default learning rate, for
``--fine-tune-epochs`` (100).
"""

from __future__ import annotations

import keras

from stackgen.config import Config
from stackgen.methods import integrated, stats, training
from stackgen.methods.members import own_copy
from stackgen.methods.metalearners import stacked_features
from stackgen.stack_steps import each_protocol
from stackgen.step_io import Printer, stacking_inputs
from stackgen.trust.atomic import write_json
from stackgen.workdir import member_files

NUMBER = 8
FINE_TUNE_LEARNING_RATE = 1e-4  # ten times below Adam's default, so the members move gently


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split, models, _, protocol_rows = member_files.for_stacking(cfg, out)
    task = split.task

    def fine_tune(rows) -> dict:
        # Fresh copies: fine-tuning changes the members, and each protocol starts from step 3's.
        copies = [own_copy(m) for m in models]
        head = integrated.fit_head(
            stacked_features(rows.fit_P, rows.fit_raw, False),
            rows.fit_y,
            split.n_classes,
            task,
            **cfg.head(),
            sample_weight=rows.fit_w,
        )
        network = integrated.assemble(copies, head, task, X=split.test_X)
        head_out = training.predict_proba(network, rows.score_raw)
        before = rows.score(head_out)
        for member in copies:
            member.trainable = True
        # The fitting rows as raw points; under cv the head saw out-of-fold predictions, and
        # the whole network now trains on the 100 training points they came from.
        training.fit(
            network,
            rows.fit_raw,
            split.targets(rows.fit_y),
            task=task,
            epochs=cfg.fine_tune_epochs,
            batch_size=cfg.batch_size,
            seed=cfg.head_seed,
            optimizer=keras.optimizers.Adam(FINE_TUNE_LEARNING_RATE),
            sample_weight=rows.fit_w,
        )
        tuned_out = training.predict_proba(network, rows.score_raw)
        after = rows.score(tuned_out)
        y, w = rows.score_y, rows.score_w
        head, tuned = stats.scored(task, head_out, y, w), stats.scored(task, tuned_out, y, w)
        return {
            "head_only": before,
            "fine_tuned": after,
            "rows": rows.describe(),
            "head_only_interval": [head["ci_low"], head["ci_high"]],
            "fine_tuned_interval": [tuned["ci_low"], tuned["ci_high"]],
            "p_change": stats.paired_p(task, tuned_out, head_out, y, w),
        }

    table = each_protocol(protocol_rows, fine_tune)
    out.result(f"{'protocol':<9} {'head only':>9} {'fine-tuned':>10} {'change':>7}")
    for protocol, row in table.items():
        out.result(
            f"{protocol:<9} {row['head_only']:>9.3f} {row['fine_tuned']:>10.3f} "
            f"{row['fine_tuned'] - row['head_only']:>+7.3f}"
        )
    test = "McNemar" if task.metric == "accuracy" else "paired bootstrap"
    out.result(f"95% intervals; fine-tuned against head only on the same rows, {test}:")
    for protocol, row in table.items():
        (h_low, h_high), (t_low, t_high) = row["head_only_interval"], row["fine_tuned_interval"]
        p = stats.format_p(row["p_change"])
        out.result(
            f"{protocol:<9} head only [{h_low:.3f}, {h_high:.3f}]  fine-tuned "
            f"[{t_low:.3f}, {t_high:.3f}]  p{'' if p.startswith('<') else '='}{p}"
        )
    result = {
        **split.labels(),
        "protocols": table,
        "learning_rate": FINE_TUNE_LEARNING_RATE,
        "epochs": cfg.fine_tune_epochs,
        "seed": cfg.seed,
    }
    outputs = [write_json(paths.result("fine_tune.json"), result)]
    out.made(NUMBER, outputs, stacking_inputs(paths, len(models), cfg))
    return result
