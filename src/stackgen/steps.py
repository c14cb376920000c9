"""The five steps of the tutorial, each reading the previous steps' artifacts and writing its own.

Each step takes a ``Config``, prints the tutorial's result lines, writes its artifacts atomically
and returns the numbers it printed. Modules that import Keras (and so TensorFlow, ~7 s) are
imported inside the steps that need them, so step 1 runs without TensorFlow.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from stackgen import data, metrics, plots
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
    """Step 1: the data set (the blobs, or your table) and its scatter plot."""
    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.make_split(cfg)
    out.result(f"{split.train_X.shape} {split.test_X.shape}")
    if split.params.get("source") == "table":
        out.result(f"data: {split.describe()}")
        out.result(f"task: {split.task} ({split.params['task_reason']})")
        if split.task == "classification":
            counts = np.bincount(
                np.concatenate([split.train_y, split.test_y]), minlength=split.n_classes
            )
            out.result(
                "classes: "
                + ", ".join(f"{n} ({c})" for n, c in zip(split.class_names, counts, strict=True))
            )
        out.info(
            f"features standardised with the mean and standard deviation of the "
            f"{len(split.train_y)} training rows; {len(split.test_y)} rows held out for testing"
        )
    outputs = [data.save_split(split, paths.data)]
    figure = plots.plot_data(split, paths.figure("blobs.png"))
    outputs += [figure] if figure else []
    out.made(cfg, 1, outputs, [])
    return {
        "train_shape": list(split.train_X.shape),
        "test_shape": list(split.test_X.shape),
        **split.labels(),
    }


def check_same_data(cfg: Config) -> None:
    """A later step given --data: refuse if step 1 made the work dir's split from other data."""
    from stackgen.artifacts import StackgenError
    from stackgen.tables import file_digest

    split = data.load_split(Paths.of(cfg))
    p = split.params
    try:
        digest = file_digest(cfg.data_file)
    except OSError:
        digest = None
    if p.get("source") != "table" or p.get("sha256") != digest or p.get("target") != cfg.target:
        raise StackgenError(
            f"{Paths.of(cfg).rel(Paths.of(cfg).data)} was made from {split.describe()}, not "
            f"from {cfg.data_file.name} with --target {cfg.target}: run "
            f"scripts/01_make_data.py --data {cfg.data_file} --target {cfg.target} first"
        )


def headline(outputs: np.ndarray, y: np.ndarray, split: data.Split) -> str:
    """ "0.812" (accuracy), or "0.481 (RMSE 55.02)" (R2; RMSE in the target's own units)."""
    if not split.regression:
        return f"{metrics.accuracy(outputs, y):.3f}"
    return f"{metrics.r2(outputs, y):.3f} (RMSE {metrics.rmse(outputs, y, split.target_scale):.4g})"


def metric_numbers(outputs: np.ndarray, y: np.ndarray, split: data.Split) -> dict:
    if not split.regression:
        return {"accuracy": metrics.accuracy(outputs, y)}
    return {
        "r2": metrics.r2(outputs, y),
        "rmse": metrics.rmse(outputs, y, split.target_scale),
    }


def single_mlp(cfg: Config) -> dict:
    """Step 2: one MLP, evaluated on the test set every epoch, and its learning curves."""
    from stackgen import members, training

    out, paths = Printer(cfg), Paths.of(cfg)
    split = data.load_split(paths)
    model, history = members.train_mlp("single_mlp", split, cfg, cfg.seed, validate=True)
    train_out = training.predict_proba(model, split.train_X)
    test_out = training.predict_proba(model, split.test_X)
    r2 = "R2 " if split.regression else ""
    out.result(
        f"Train: {r2}{headline(train_out, split.train_y, split)}, "
        f"Test: {r2}{headline(test_out, split.test_y, split)}"
    )
    result = {
        **split.labels(),
        "train_accuracy": metrics.score(train_out, split.train_y),
        "test_accuracy": metrics.score(test_out, split.test_y),
        "train": metric_numbers(train_out, split.train_y, split),
        "test": metric_numbers(test_out, split.test_y, split),
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


def _protocol_table(out: Printer, rows: list[dict], label: str, split: data.Split) -> None:
    if split.regression:
        out.result("R2 on the scored rows (1: perfect; 0: no better than the mean):")
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
            metrics.score(task.score_P[:, m], task.score_y) for m in range(task.score_P.shape[1])
        ],
        "best_member": best.index_ + 1,
        "best_member_accuracy": metrics.score(best.predict_proba(task.score_P), task.score_y),
        "average_accuracy": metrics.score(task.score_P.mean(axis=1), task.score_y),
    }


def stack_logistic(cfg: Config) -> dict:
    """Step 4: each member's test score, then a meta-learner (logistic, or linear for regression).

    Prints each member's accuracy (R² and RMSE for regression), the stack's, and the protocols.
    """
    from stackgen import combiners, stacking

    out, paths = Printer(cfg), Paths.of(cfg)
    split, models = load_members_for_step(out)
    test_P, tasks = protocol_tasks(cfg, split, models, out)
    regression = split.regression
    kind = combiners.meta_kind(cfg.meta, regression)
    member_accs = [metrics.score(test_P[:, m], split.test_y) for m in range(len(models))]
    name = "R2" if regression else "Accuracy"
    for m in range(len(models)):
        out.result(f"Model {name}: {headline(test_P[:, m], split.test_y, split)}")
    rows, written = [], []
    for task in tasks:
        meta = combiners.meta_learner(kind, cfg.seed, cfg.passthrough, regression)
        meta.fit(task.fit_P, task.fit_y, task.fit_raw)
        stacked = meta.predict_proba(task.score_P, task.score_raw)
        acc = metrics.score(stacked, task.score_y)
        rows.append({**_baseline_numbers(task), "stacked_accuracy": acc})
        if task.protocol == "tutorial":
            out.result(f"Stacked Test {name}: {headline(stacked, task.score_y, split)}")
            out.info(TUTORIAL_PROTOCOL_NOTE.format(n=len(split.test_y)))
        if kind in ("multinomial", "ovr") or regression:  # linear meta-learners: saved (skops)
            written.append(
                stacking.save_meta(meta.estimator, paths.meta_logistic_for(task.protocol))
            )
    _protocol_table(out, rows, "stacked", split)
    result = {
        **split.labels(),
        "member_accuracies": member_accs,
        **(
            {"stacked_accuracy": rows[0]["stacked_accuracy"]}
            if tasks[0].protocol == "tutorial"
            else {}
        ),
        "meta": kind,
        "passthrough": cfg.passthrough,
        "columns": stacking.column_names(len(models), split.n_classes, regression)
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
        outputs = training.predict_proba(network, task.score_raw)
        acc = metrics.score(outputs, task.score_y)
        rows.append({**_baseline_numbers(task), "stacked_accuracy": acc})
        if task.protocol == "tutorial":
            name = "R2" if split.regression else "Accuracy"
            out.result(f"Stacked Test {name}: {headline(outputs, task.score_y, split)}")
            out.info(TUTORIAL_PROTOCOL_NOTE.format(n=len(split.test_y)))
        written.append(members.save_model(network, paths.stacked_network_for(task.protocol)))
    _protocol_table(out, rows, "network", split)
    figure = plots.plot_network(network, paths.figure("stacked_model.png"))
    if figure is None:
        out.result(plots.GRAPHVIZ_HINT.format(name=paths.rel(paths.figure("stacked_model.png"))))
    result = {
        **split.labels(),
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
