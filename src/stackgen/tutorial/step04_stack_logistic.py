"""Step 4: each member's test score, then a meta-learner (logistic, or linear for regression).

Script: scripts/04_stack_logistic.py. ``--meta`` picks the meta-learner (methods/metalearners.py);
every one is saved, for every protocol, with its kind and settings, and ``predict`` and step 9
serve exactly the files this step saved last (``results/stack_logistic.json`` lists them).
"""

from __future__ import annotations

import numpy as np

from stackgen import plots
from stackgen.config import Config
from stackgen.methods import metalearners, stats
from stackgen.methods.leak_audit import audit
from stackgen.stack_steps import Stacked, stack_each_protocol
from stackgen.step_io import Printer, print_protocol_table, stacking_inputs
from stackgen.trust.atomic import write_json
from stackgen.workdir import member_files, metalearner_files, served, settings
from stackgen.workdir.paths import read_json

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
    member_scores = [split.score(test_P[:, m], split.test_y, "test") for m in range(len(models))]
    for m in range(len(models)):
        out.result(f"Model {task.score_name}: {split.headline(test_P[:, m], split.test_y, 'test')}")

    test_outputs = {}

    def fit(rows) -> Stacked:
        meta = metalearners.meta_learner(spec.kind, task, cfg.seed, cfg.passthrough)
        meta.fit(rows.fit_P, rows.fit_y, rows.fit_raw, rows.fit_w)
        path = paths.meta_learner_for(rows.protocol, metalearner_files.suffix_of(meta))
        saved = metalearner_files.save_meta(meta, path, n_inputs=len(models) * split.n_outputs)
        outputs = meta.predict_proba(rows.score_P, rows.score_raw)
        test_outputs[rows.protocol] = outputs, rows.score_y
        return Stacked(outputs, saved)

    table, files = stack_each_protocol(out, split, protocol_rows, fit, "meta_learner*.*")
    print_protocol_table(out, table, "stacked", task.metric)
    intervals = [
        stats.scored(task, test_P[:, m], split.test_y, split.test_weights)
        for m in range(len(models))
    ]
    out.result(
        f"members on the {len(split.test_y)} test rows: "
        + ", ".join(
            f"{m + 1}: [{found['ci_low']:.3f}, {found['ci_high']:.3f}]"
            for m, found in enumerate(intervals)
        )
    )
    # Members trained elsewhere only: stackgen's own MLPs read the classes in its own order,
    # and a few epochs' can be below chance for no other reason.
    imported = read_json(paths.members_manifest, paths).get("imported")
    below = below_chance(split, intervals) if imported else []
    for line in below:
        out.result(line)
    audit = None
    if "cv" in files:
        audit = leak_audit(out, split, len(models), spec.kind, cfg)
    result = {
        **split.labels(),
        "member_scores": member_scores,
        "member_intervals": [[found["ci_low"], found["ci_high"]] for found in intervals],
        "member_warnings": below,
        **({"stacked_score": table[0]["stacked_score"]} if "tutorial" in files else {}),
        "meta": spec.kind,
        "meta_label": spec.label,
        "passthrough": cfg.passthrough,
        "columns": metalearners.column_names(
            len(models), split.n_outputs, split.feature_names if cfg.passthrough else None
        ),
        "meta_files": {protocol: paths.rel(path) for protocol, path in files.items()},
        "protocols": {row["protocol"]: row for row in table},
        **({"leak_audit": audit} if audit else {}),
        "seed": cfg.seed,
    }
    outputs = [*files.values(), write_json(paths.result("stack_logistic.json"), result)]
    if task.name == "classification":
        outputs.append(confusion(paths, split, spec.label, test_outputs))
    else:
        paths.figure("confusion.png").unlink(missing_ok=True)  # an earlier run's, not this one
    out.made(NUMBER, outputs, stacking_inputs(paths, len(models), cfg), meta=spec.kind)
    return result


def confusion(paths, split, label: str, test_outputs: dict):
    """figures/confusion.png: the confusion matrix of the stack ``predict`` serves by default
    (the most honest protocol that ran) on the test rows it was scored on."""
    protocol = next(p for p in served.BY_HONESTY if p in test_outputs)
    outputs, y = test_outputs[protocol]
    title = f"The {protocol} protocol's stack ({label}), served by predict"
    return plots.plot_confusion(
        y,
        np.argmax(outputs, axis=1),
        plots.class_names(split),
        title,
        paths.figure("confusion.png"),
    )


def below_chance(split, intervals: list[dict]) -> list[str]:
    """A warning for each member whose test accuracy is below chance, one over the number of
    classes, by its whole 95% interval: most often outputs in another class order than the
    sorted labels stackgen reads them in."""
    if split.task.name != "classification":
        return []
    chance = 1 / split.n_classes
    order = ", ".join(map(str, split.class_names[:6])) + (", ..." if split.n_classes > 6 else "")
    return [
        f"warning: member {m + 1} scores {found[split.task.metric]:.3f} on the test rows (95% CI "
        f"{found['ci_low']:.3f}-{found['ci_high']:.3f}), below chance for {split.n_classes} "
        f"classes ({chance:.3f}): are its outputs in another order than the classes' ({order})?"
        for m, found in enumerate(intervals)
        if found["ci_high"] < chance
    ]


def leak_audit(out: Printer, split, n_members: int, kind: str, cfg: Config) -> dict | None:
    """With groups or a time order: what row-wise folds would have reported beside the honest
    folds, on the same training rows (``methods/leak_audit.py``); printed, and returned for the
    results file. None for rows with neither."""
    both = member_files.load_audit(out.paths, split, n_members)
    if both is None:
        return None
    found = audit(
        lambda: metalearners.meta_learner(kind, split.task, cfg.seed, False),
        split.task,
        split.train_y,
        *both,
        weights=split.train_weights,
        forward=split.ordered,
    )
    honest = "forward-chaining" if split.ordered else "group-wise"
    blind = "the time" if split.ordered else "the groups"
    out.result(
        f"leak audit: out-of-fold {split.task.metric} on the same {found['rows']} training rows "
        "(each fold's stack fit on other folds):"
    )
    out.result(f"{'folds':<34} {'best member':>11} {'average':>8} {'stacked':>8}")
    for name, label in (("rowwise", f"row-wise (blind to {blind})"), ("honest", honest)):
        s = found[name]
        out.result(f"{label:<34} {s['best_member']:>11.3f} {s['average']:>8.3f} {s['stack']:>8.3f}")
    if split.task.metric == "accuracy":
        for name in ("rowwise", "honest"):
            low, high = stats.wilson(found[name]["stack"], found["rows"])
            found[name]["stack_interval"] = [low, high]
        (r_low, r_high), (h_low, h_high) = (
            found["rowwise"]["stack_interval"],
            found["honest"]["stack_interval"],
        )
        out.result(
            f"stacked 95% intervals: row-wise [{r_low:.3f}, {r_high:.3f}], {honest} "
            f"[{h_low:.3f}, {h_high:.3f}]"
        )
    gap = found["rowwise"]["stack"] - found["honest"]["stack"]
    out.result(
        f"row-wise folds would have reported the stack {gap:+.3f} against {honest} folds"
        + (": a leak, the gap is what they flatter it by" if gap > 0 else "")
    )
    return {**found, "honest_folds": honest}
