"""Steps 6-9: the experiments the tutorial leaves as exercises, each under every protocol.

6. every baseline and meta-learner side by side (alternate meta-learners, raw input in the
   meta-learner, a single level-0 model);
7. diverse members (different widths and depths) against identical ones;
8. fine-tuning the integrated network: unfreeze the members after the head is trained;
9. decision boundaries of the members and both stacks.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stackgen import data, lineage, metrics, plots
from stackgen.artifacts import Paths, read_json, write_json
from stackgen.config import Config
from stackgen.steps import Printer, load_members_for_step, protocol_tasks

FINE_TUNE_LEARNING_RATE = 1e-4  # ten times below Adam's default, so the members move gently
FINE_TUNE_EPOCHS = 100


def compare_methods(cfg: Config) -> dict:
    """Step 6: every method under every protocol, one line per method."""
    from stackgen import experiments

    out, paths = Printer(cfg), Paths.of(cfg)
    split, models = load_members_for_step(out)
    _, tasks = protocol_tasks(cfg, split, models, out)
    scores = {task.protocol: experiments.evaluate(task, cfg, models) for task in tasks}
    rows = experiments.method_rows(len(models), split.regression)
    if split.regression:
        out.result("R2 on each protocol's scored rows:")
    for line in experiments.format_table(scores, rows):
        out.result(line)
    result = {
        **split.labels(),
        "protocols": scores,
        "rows": rows,
        "seed": cfg.seed,
        "described": {t.protocol: t.describe() for t in tasks},
    }
    out.wrote(write_json(paths.result("methods.json"), result))
    return result


def diverse_members(cfg: Config) -> dict:
    """Step 7: identical members against members of different widths and depths."""
    from stackgen import experiments, members

    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.load_split(paths)
    labels = [
        experiments.BEST,
        experiments.AVERAGE_REGRESSION if split.regression else experiments.AVERAGE,
        experiments.stack_label(split.regression),
        experiments.INTEGRATED,
    ]
    scores, kinds = {}, {"identical": False, "diverse": True}
    for kind, diverse in kinds.items():
        kind_cfg = dataclasses.replace(cfg, diverse=diverse)
        models = members.train_members(split, kind_cfg)
        oof = members.out_of_fold(split, kind_cfg)[0] if "cv" in cfg.protocols else None
        test_P = np.stack(members.member_probabilities(models, split.test_X), axis=1)
        for task in experiments.tasks_for(split, test_P, oof, kind_cfg):
            scores[f"{kind} {task.protocol}"] = experiments.evaluate(
                task, kind_cfg, models, only=labels
            )
    architectures = [
        list(dataclasses.replace(cfg, diverse=True).member_architecture(i))
        for i in range(1, cfg.members + 1)
    ]
    out.info(f"diverse members' hidden layers: {architectures}")
    for line in experiments.format_table(scores, labels):
        out.result(line)
    result = {
        **split.labels(),
        "scores": scores,
        "diverse_architectures": architectures,
        "seed": cfg.seed,
    }
    out.wrote(write_json(paths.result("diverse.json"), result))
    return result


def fine_tune(cfg: Config) -> dict:
    """Step 8: the integrated network with its head trained, then everything trained gently."""
    import keras

    from stackgen import integrated, training

    out, paths = Printer(cfg), Paths.of(cfg)
    split, models = load_members_for_step(out)
    _, tasks = protocol_tasks(cfg, split, models, out)
    rows = {}
    for task in tasks:
        # Fresh copies: fine-tuning changes the members, and each protocol starts from step 3's.
        copies = [_copy(m) for m in models]
        head = integrated.fit_head(
            integrated.head_inputs(task.fit_P, task.fit_raw, False),
            task.fit_y,
            split.n_classes,
            cfg,
        )
        network = integrated.assemble(copies, head)
        before = metrics.score(training.predict_proba(network, task.score_raw), task.score_y)
        for member in copies:
            member.trainable = True
        # The fitting rows as raw points; under cv the head saw out-of-fold predictions, and
        # the whole network now trains on the 100 training points they came from.
        training.fit(
            network,
            task.fit_raw,
            data.one_hot(task.fit_y, split.n_classes),
            epochs=FINE_TUNE_EPOCHS,
            batch_size=cfg.batch_size,
            seed=cfg.head_seed,
            optimizer=keras.optimizers.Adam(FINE_TUNE_LEARNING_RATE),
        )
        after = metrics.score(training.predict_proba(network, task.score_raw), task.score_y)
        rows[task.protocol] = {"head_only": before, "fine_tuned": after, "rows": task.describe()}
    out.result(f"{'protocol':<9} {'head only':>9} {'fine-tuned':>10} {'change':>7}")
    for protocol, row in rows.items():
        out.result(
            f"{protocol:<9} {row['head_only']:>9.3f} {row['fine_tuned']:>10.3f} "
            f"{row['fine_tuned'] - row['head_only']:>+7.3f}"
        )
    result = {
        **split.labels(),
        "protocols": rows,
        "learning_rate": FINE_TUNE_LEARNING_RATE,
        "epochs": FINE_TUNE_EPOCHS,
        "seed": cfg.seed,
    }
    out.wrote(write_json(paths.result("fine_tune.json"), result))
    return result


def _copy(model):
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def decision_boundaries(cfg: Config) -> dict:
    """Step 9: each member's, the logistic stack's and the integrated network's regions."""
    from stackgen import integrated, members, stacking, training

    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.load_split(paths)
    if split.regression or split.n_features != 2:
        out.info("decision regions are drawn for two-feature classification only; skipped")
        return {"figure": None}
    split, models = load_members_for_step(out)
    protocol = next((p for p in ("holdout", "cv") if p in cfg.protocols), "tutorial")
    logistic = read_json(paths.result("stack_logistic.json"), 4, paths)
    meta = stacking.load_meta(paths.meta_logistic_for(protocol), paths)
    network = members.load_model(paths.stacked_network_for(protocol), 5, paths)
    lineage.verify(paths, paths.stacked_network_for(protocol), 5)

    def logistic_stack(X):
        P = np.stack(members.member_probabilities(models, X), axis=1)
        return meta.predict_proba(integrated.head_inputs(P, X, logistic.get("passthrough")))

    panels = [
        (m.name.replace("_", " "), lambda X, m=m: training.predict_proba(m, X)) for m in models
    ]
    panels += [
        (f"logistic stack ({protocol})", logistic_stack),
        (f"integrated network ({protocol})", lambda X: training.predict_proba(network, X)),
    ]
    figure = plots.plot_decision_regions(panels, split, paths.figure("decision_boundaries.png"))
    out.wrote(figure)
    return {"figure": paths.rel(figure), "protocol": protocol}
