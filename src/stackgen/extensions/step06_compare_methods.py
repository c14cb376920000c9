"""Step 6: every method under every protocol, one line per method.

Script: scripts/06_compare_methods.py. Alternate meta-learners, raw input in the meta-learner
(passthrough), a single level-0 model, the baselines and the integrated network, side by side.
"""

from __future__ import annotations

from stackgen import plots
from stackgen.config import Config
from stackgen.methods import experiments, integrated
from stackgen.step_io import Printer, print_interval_widths, stacking_inputs
from stackgen.trust.atomic import write_json
from stackgen.workdir import member_files, settings

NUMBER = 6


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split, models, _, protocol_rows = member_files.for_stacking(cfg, out)
    if split.task.name == "classification":  # k-nearest neighbours is one of the methods
        for note in settings.knn_notes(cfg, split):
            out.info(note)
    intervals = {rows.protocol: {} for rows in protocol_rows}
    scores = {
        rows.protocol: experiments.evaluate(
            rows,
            cfg.seed,
            integrated.network_score(models, cfg.head()),
            intervals=intervals[rows.protocol],
        )
        for rows in protocol_rows
    }
    labels = [  # a method no protocol could run (passthrough on images) is left out
        label
        for label in experiments.method_rows(len(models), split.task)
        if any(label in protocol for protocol in scores.values())
    ]
    if split.task.metric == "r2":
        out.result("R2 on each protocol's scored rows:")
    for line in experiments.format_table(scores, labels):
        out.result(line)
    print_interval_widths(out, protocol_rows, scores)
    result = {
        **split.labels(),
        "protocols": scores,
        "intervals": intervals,
        "rows": labels,
        "seed": cfg.seed,
        "described": {rows.protocol: rows.describe() for rows in protocol_rows},
    }
    figure = plots.plot_methods(
        {p: {label: s[label] for label in labels if label in s} for p, s in scores.items()},
        intervals,
        split.task.metric,
        paths.figure("methods.png"),
    )
    outputs = [write_json(paths.result("methods.json"), result), figure]
    out.made(NUMBER, outputs, stacking_inputs(paths, len(models), cfg))
    return result
