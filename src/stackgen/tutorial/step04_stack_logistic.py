"""Step 4: each member's test score, then a meta-learner (logistic, or linear for regression).

Script: scripts/04_stack_logistic.py. ``--meta`` picks the meta-learner (methods/metalearners.py);
every one is saved, for every protocol, with its kind and settings, and ``predict`` and step 9
serve exactly the files this step saved last (``results/stack_logistic.json`` lists them).
"""

from __future__ import annotations

from stackgen.config import Config
from stackgen.methods import metalearners
from stackgen.stack_steps import Stacked, stack_each_protocol
from stackgen.step_io import Printer, print_protocol_table, stacking_inputs
from stackgen.trust.atomic import write_json
from stackgen.workdir import member_files, metalearner_files, settings

NUMBER = 4


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split, models, test_P, protocol_rows = member_files.for_stacking(cfg, out)
    task = split.task
    spec = metalearners.spec(cfg.meta, task)
    if spec.kind == "knn":
        for note in settings.knn_notes(cfg, split):
            out.info(note)
    member_scores = [split.score(test_P[:, m], split.test_y) for m in range(len(models))]
    for m in range(len(models)):
        out.result(f"Model {task.score_name}: {split.headline(test_P[:, m], split.test_y)}")

    def fit(rows) -> Stacked:
        meta = metalearners.meta_learner(spec.kind, task, cfg.seed, cfg.passthrough)
        meta.fit(rows.fit_P, rows.fit_y, rows.fit_raw)
        path = paths.meta_learner_for(rows.protocol, metalearner_files.suffix_of(meta))
        saved = metalearner_files.save_meta(meta, path, n_inputs=len(models) * split.n_outputs)
        return Stacked(meta.predict_proba(rows.score_P, rows.score_raw), saved)

    table, files = stack_each_protocol(out, split, protocol_rows, fit, "meta_learner*.*")
    print_protocol_table(out, table, "stacked", task.metric)
    result = {
        **split.labels(),
        "member_scores": member_scores,
        **({"stacked_score": table[0]["stacked_score"]} if "tutorial" in files else {}),
        "meta": spec.kind,
        "meta_label": spec.label,
        "passthrough": cfg.passthrough,
        "columns": metalearners.column_names(
            len(models), split.n_outputs, split.feature_names if cfg.passthrough else None
        ),
        "meta_files": {protocol: paths.rel(path) for protocol, path in files.items()},
        "protocols": {row["protocol"]: row for row in table},
        "seed": cfg.seed,
    }
    outputs = [*files.values(), write_json(paths.result("stack_logistic.json"), result)]
    out.made(NUMBER, outputs, stacking_inputs(paths, len(models), cfg), meta=spec.kind)
    return result
