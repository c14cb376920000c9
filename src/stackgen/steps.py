"""The five steps of the tutorial, each reading the previous steps' artifacts and writing its own.

Each step takes a ``Config``, prints the tutorial's result lines, writes its artifacts atomically
and returns the numbers it printed. Modules that import Keras (and so TensorFlow, ~7 s) are
imported inside the steps that need them, so step 1 runs without TensorFlow.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from stackgen import data, plots
from stackgen.artifacts import Paths, write_json
from stackgen.config import Config

TUTORIAL_PROTOCOL_NOTE = (
    "note: like the tutorial, the meta-learner was fit on the same {n} test points it is scored "
    "on, so this accuracy is optimistic"
)


class Printer:
    """Result lines always; everything else (paths written, notes) unless ``--quiet``."""

    def __init__(self, cfg: Config):
        self.quiet = cfg.quiet
        self.paths = Paths.of(cfg)

    def result(self, line: str) -> None:
        print(line, flush=True)

    def info(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)

    def wrote(self, *written) -> None:
        for path in written:
            self.info(f"wrote {self.paths.rel(path)}")

    def made(
        self, cfg: Config, step: int, outputs: list, inputs: list, already_said: tuple = ()
    ) -> None:
        """Record the lineage of ``outputs`` (made from ``inputs``) and say what was written,
        except the paths ``already_said``."""
        from stackgen import lineage

        params = {k: v for k, v in cfg.as_dict().items() if k not in ("workdir", "quiet", "force")}
        lineage.record(self.paths, step, outputs, inputs, params)
        self.wrote(*(p for p in outputs if p not in already_said))


def member_files(paths: Paths, n_members: int, cfg: Config) -> list:
    """What steps 4 and 5 are made from: the data, step 3's manifest, members and predictions."""
    oof = [paths.oof] if "cv" in cfg.protocols else []
    return [
        paths.data,
        paths.members_manifest,
        *(paths.member(i) for i in range(1, n_members + 1)),
        *oof,
    ]


def make_data(cfg: Config) -> dict:
    """Step 1: the blobs data set and its scatter plot."""
    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.make_split(cfg)
    out.result(f"{split.train_X.shape} {split.test_X.shape}")
    out.made(
        cfg,
        1,
        [data.save_split(split, paths.data), plots.plot_blobs(split, paths.figure("blobs.png"))],
        [],
    )
    return {"train_shape": list(split.train_X.shape), "test_shape": list(split.test_X.shape)}


def single_mlp(cfg: Config) -> dict:
    """Step 2: one MLP, evaluated on the test set every epoch, and its learning curves."""
    from stackgen import members, training

    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.load_split(paths)
    model, history = members.train_mlp("single_mlp", split, cfg, cfg.seed, validate=True)
    train_acc = training.accuracy(training.predict_proba(model, split.train_X), split.train_y)
    test_acc = training.accuracy(training.predict_proba(model, split.test_X), split.test_y)
    out.result(f"Train: {train_acc:.3f}, Test: {test_acc:.3f}")
    result = {
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "history": history,
    }
    outputs = [
        plots.plot_learning_curves(history, paths.figure("learning_curves.png")),
        write_json(paths.result("single_mlp.json"), result),
    ]
    out.made(cfg, 2, outputs, [paths.data])
    return result


def train_members(cfg: Config) -> dict:
    """Step 3: N members, each with its own seed, saved as models/member_i.keras."""
    from stackgen import members

    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.load_split(paths)
    models = members.train_members(split, cfg)
    oof = members.out_of_fold(split, cfg) if "cv" in cfg.protocols else None
    # Saved only once all are trained: an interrupted run leaves the previous members intact.
    written = members.save_members(models, oof, paths, cfg, split)
    for path in written:
        out.result(f">Saved {paths.rel(path)}")
    outputs = [*written, *([paths.oof] if oof else []), paths.members_manifest]
    out.made(cfg, 3, outputs, [paths.data], already_said=tuple(written))
    return {"members": [paths.rel(p) for p in written]}


def load_members_for_step(out: Printer):
    from stackgen import members

    paths = out.paths
    split = data.load_split(paths)
    models = members.load_members(paths, split)
    for i in range(1, len(models) + 1):
        out.info(f">loaded {paths.rel(paths.member(i))}")
    out.info(f"Loaded {len(models)} models")
    return split, models


def protocol_tasks(cfg: Config, split: data.Split, models: list, out: Printer):
    """Members' test probabilities [rows, members, classes] and the task of each protocol."""
    from stackgen import members, protocols

    test_P = np.stack(members.member_probabilities(models, split.test_X), axis=1)
    oof = members.load_oof(out.paths, split, len(models)) if "cv" in cfg.protocols else None
    tasks = [protocols.make_task(p, split, test_P, oof, cfg.seed) for p in cfg.protocols]
    return test_P, tasks


def _protocol_table(out: Printer, rows: list[dict], label: str) -> None:
    out.result(
        f"{'protocol':<9} {'meta-learner rows':<46} {'best member':>11} {'average':>8} {label:>8}"
    )
    for row in rows:
        out.result(
            f"{row['protocol']:<9} {row['rows']:<46} {row['best_member_accuracy']:>11.3f} "
            f"{row['average_accuracy']:>8.3f} {row['stacked_accuracy']:>8.3f}"
        )


def _baseline_numbers(task) -> dict:
    from stackgen import combiners

    best = combiners.BestMember().fit(task.fit_P, task.fit_y)
    return {
        "protocol": task.protocol,
        "rows": task.describe(),
        "fit_rows": {"set": task.fit_rows[0], "count": len(task.fit_rows[1])},
        "scored_rows": {"set": task.score_rows[0], "count": len(task.score_rows[1])},
        "member_accuracies": [
            combiners.accuracy(task.score_P[:, m], task.score_y)
            for m in range(task.score_P.shape[1])
        ],
        "best_member": best.index_ + 1,
        "best_member_accuracy": combiners.accuracy(best.predict_proba(task.score_P), task.score_y),
        "average_accuracy": combiners.accuracy(task.score_P.mean(axis=1), task.score_y),
    }


def stack_logistic(cfg: Config) -> dict:
    """Step 4: each member's test accuracy, then a meta-learner (logistic regression) on top."""
    from stackgen import combiners, stacking

    out, paths = Printer(cfg), Paths.of(cfg)
    split, models = load_members_for_step(out)
    test_P, tasks = protocol_tasks(cfg, split, models, out)
    member_accs = [combiners.accuracy(test_P[:, m], split.test_y) for m in range(len(models))]
    for acc in member_accs:
        out.result(f"Model Accuracy: {acc:.3f}")
    rows, written = [], []
    for task in tasks:
        meta = combiners.meta_learner(cfg.meta, cfg.seed, cfg.passthrough)
        meta.fit(task.fit_P, task.fit_y, task.fit_raw)
        acc = combiners.accuracy(meta.predict_proba(task.score_P, task.score_raw), task.score_y)
        rows.append({**_baseline_numbers(task), "stacked_accuracy": acc})
        if task.protocol == "tutorial":
            out.result(f"Stacked Test Accuracy: {acc:.3f}")
            out.info(TUTORIAL_PROTOCOL_NOTE.format(n=len(split.test_y)))
        if cfg.meta in ("multinomial", "ovr"):  # the logistic meta-learners are saved with skops
            written.append(
                stacking.save_meta(meta.estimator, paths.meta_logistic_for(task.protocol))
            )
    _protocol_table(out, rows, "stacked")
    result = {
        "member_accuracies": member_accs,
        **(
            {"stacked_accuracy": rows[0]["stacked_accuracy"]}
            if tasks[0].protocol == "tutorial"
            else {}
        ),
        "meta": cfg.meta,
        "passthrough": cfg.passthrough,
        "columns": stacking.column_names(len(models), split.n_classes)
        + ([f"raw:x{j}" for j in range(split.n_features)] if cfg.passthrough else []),
        "protocols": {row["protocol"]: row for row in rows},
        "seed": cfg.seed,
    }
    out.made(
        cfg,
        4,
        [*written, write_json(paths.result("stack_logistic.json"), result)],
        member_files(paths, len(models), cfg),
    )
    return result


def stack_integrated(cfg: Config) -> dict:
    """Step 5: the members frozen inside one Keras network whose new head is trained."""
    from stackgen import integrated, members, training

    out, paths = Printer(cfg), Paths.of(cfg)
    split, models = load_members_for_step(out)
    _, tasks = protocol_tasks(cfg, split, models, out)
    rows, written, network = [], [], None
    for task in tasks:
        features = integrated.head_inputs(task.fit_P, task.fit_raw, cfg.passthrough)
        head = integrated.fit_head(features, task.fit_y, split.n_classes, cfg)
        network = integrated.assemble(models, head, cfg.passthrough)
        acc = training.accuracy(training.predict_proba(network, task.score_raw), task.score_y)
        rows.append({**_baseline_numbers(task), "stacked_accuracy": acc})
        if task.protocol == "tutorial":
            out.result(f"Stacked Test Accuracy: {acc:.3f}")
            out.info(TUTORIAL_PROTOCOL_NOTE.format(n=len(split.test_y)))
        written.append(members.save_model(network, paths.stacked_network_for(task.protocol)))
    _protocol_table(out, rows, "network")
    figure = plots.plot_network(network, paths.figure("stacked_model.png"))
    if figure is None:
        out.result(plots.GRAPHVIZ_HINT.format(name=paths.rel(paths.figure("stacked_model.png"))))
    result = {
        **(
            {"stacked_accuracy": rows[0]["stacked_accuracy"]}
            if tasks[0].protocol == "tutorial"
            else {}
        ),
        "protocols": {row["protocol"]: row for row in rows},
        "passthrough": cfg.passthrough,
        "members": len(models),
        "meta_epochs": cfg.meta_epochs,
        "seed": cfg.seed,
        "head_seed": cfg.head_seed,
        "trainable_weights": integrated.trainable_weight_names(network),
    }
    outputs = [
        *([figure] if figure else []),
        *written,
        write_json(paths.result("stack_integrated.json"), result),
    ]
    out.made(cfg, 5, outputs, member_files(paths, len(models), cfg))
    return result


STEPS = (make_data, single_mlp, train_members, stack_logistic, stack_integrated)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pipeline():
    """Every step ``python -m stackgen run`` runs, in order: 1-9, then the report (11). The
    repeat study (10) takes minutes and runs on its own."""
    from stackgen import extensions, report

    return (
        *STEPS,
        extensions.compare_methods,
        extensions.diverse_members,
        extensions.fine_tune,
        extensions.decision_boundaries,
        report.write_report,
    )


STEP_NUMBERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11)


def run_all(cfg: Config, upto: int = 11) -> dict:
    """Steps up to ``upto``, in order, in this process; per-step times go to results/run.json."""
    out, results, timings = Printer(cfg), {}, []
    start = time.perf_counter()
    # Import Keras (and TensorFlow) up front so that step 2's time is its own work.
    import stackgen.training  # noqa: F401

    import_seconds = time.perf_counter() - start
    for number, step in zip(STEP_NUMBERS, pipeline(), strict=True):
        if number > upto:
            break
        doc = (step.__doc__ or "").split(":", 1)[-1].strip().splitlines()[0]
        out.info(f"\n== step {number}: {doc}")
        began = time.perf_counter()
        results[step.__name__] = step(cfg)
        timings.append(
            {
                "step": step.__name__,
                "seconds": time.perf_counter() - began,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    total = time.perf_counter() - start
    out.info("")
    out.wrote(
        write_json(
            out.paths.result("run.json"),
            {
                "config": cfg.as_dict(),
                "import_seconds": import_seconds,
                "steps": timings,
                "total_seconds": total,
            },
        )
    )
    per_step = " + ".join(f"{t['seconds']:.1f}" for t in timings)
    out.info(
        f"{len(timings)} steps finished in {total:.1f} s (Keras import "
        f"{import_seconds:.1f} s; steps {per_step} s), peak memory {peak_rss_mib():.0f} MiB"
    )
    results["timings"] = timings
    return results
