"""Step 10: members, baselines and every stack under every protocol, re-run for many seeds.

Script: scripts/10_repeat_study.py (not part of ``python -m stackgen run``: it takes minutes).

Each seed trains ``max_members`` members (and their out-of-fold predictions) from scratch; the
method table uses the first ``--members`` of them, the accuracy-against-members curve uses 1..max.
It runs on the blobs, on your table (``--data FILE.csv --target COLUMN``, with ``--groups``,
``--time`` and ``--weights`` as for a run) and on your arrays (``--data FILE.npz``, feature
columns): each seed changes the members' weights, the cv folds and the holdout halves, and with
``--vary-data`` the train/test split too (a table's, redrawn by whole groups with ``--groups``;
a time order keeps its latest rows as the test rows, and its folds run forward whatever the
seed).
Seeds run in parallel local processes, or on a Dask cluster with ``--scheduler`` (``cluster.py``).
Every finished seed is saved at once under results/repeat/<settings>/seed_NNNN.json; a re-run
with the same settings skips it, wherever the seeds ran.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import threadpoolctl

from stackgen import cluster, plots, progress
from stackgen.cli.flags import positive_int
from stackgen.config import HEAD_SEED_OFFSET, MAX_MEMBERS, MAX_SEED, Config
from stackgen.data.task import CLASSIFICATION
from stackgen.methods import experiments, integrated, members, protocols, stats
from stackgen.methods.experiments import BEST
from stackgen.step_io import NOT_PARAMS, Printer
from stackgen.trust.atomic import write_json
from stackgen.trust.errors import StackgenError
from stackgen.workdir import own_members, settings
from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import make_split
from stackgen.workdir.table_files import file_digest

NUMBER = 10


def settings_key(cfg: Config, max_members: int, vary_data: bool) -> str:
    """Seeds are only reused by runs with the same settings and data: a short hash of them (and
    of your data file's bytes) names the dir."""
    keep = {k: v for k, v in cfg.as_dict().items() if k not in ("seed", *NOT_PARAMS)}
    keep.update(max_members=max_members, vary_data=vary_data)
    if cfg.data_file is not None:
        keep["data_sha256"] = file_digest(cfg.data_file)
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:12]


def run_seed(cfg: Config, seed: int, max_members: int, vary_data: bool) -> dict:
    """Everything for one seed, in a fresh worker process; returns plain numbers. Its
    trainings say no progress: the seeds are the study's."""
    with progress.silenced():
        return _run_seed(cfg, seed, max_members, vary_data)


def _run_seed(cfg: Config, seed: int, max_members: int, vary_data: bool) -> dict:
    _one_thread_per_worker()
    seed_cfg = dataclasses.replace(
        cfg,
        seed=seed,
        members=max_members,
        data_random_state=seed if vary_data else cfg.data_random_state,
    )
    began = time.perf_counter()
    split = make_split(seed_cfg)
    chosen = own_members.tutorial_members(split, seed_cfg)
    models, (oof, _), _ = own_members.train_and_out_of_fold(chosen, split, seed_cfg, cv=True)
    test_P = np.stack(members.member_probabilities(models, split.test_X), axis=1)
    n = cfg.members
    main_cfg = dataclasses.replace(seed_cfg, members=n)
    methods = {
        rows.protocol: experiments.evaluate(
            rows, seed, integrated.network_score(models[:n], main_cfg.head())
        )
        for rows in protocols.rows_for(
            split, test_P[:, :n], oof[:, :n], main_cfg.protocol_objects()
        )
    }
    curves = experiments.vary_members(split, test_P, oof, seed_cfg.protocol_objects(), seed)
    return {
        "seed": seed,
        "methods": methods,
        "vary_members": curves,
        "seconds": time.perf_counter() - began,
    }


def _one_thread_per_worker() -> None:
    # Workers already share the cores between them; TensorFlow's own thread pools on top would
    # only contend. Must happen before TensorFlow starts its runtime, so once per worker.
    import tensorflow as tf

    threadpoolctl.threadpool_limits(1)  # BLAS, and the OpenMP of histogram gradient boosting
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass


def _check_settings(cfg: Config, seeds: int, max_members: int, vary_data: bool) -> None:
    """Every seed's settings can work, before any seed starts: seeds in range, and folds and
    protocols the data of every seed can give rows for."""
    if cfg.data_file is not None:
        if Path(cfg.data_file).is_dir():
            raise StackgenError(
                "the repeat study trains stackgen's MLPs on feature columns, and a folder of "
                "images is not feature columns"
            )
        if vary_data and Path(cfg.data_file).suffix == ".npz":
            raise StackgenError(
                "--vary-data draws a new train/test split of a table; an .npz holds its own "
                "split: drop --vary-data"
            )
        split = make_split(cfg)
        if not split.flat or not split.has_train:
            raise StackgenError(
                "the repeat study trains stackgen's MLPs on feature columns, and this data "
                + ("has no train arrays" if not split.has_train else f"is {split.describe()}")
            )
    if max_members > MAX_MEMBERS:
        raise StackgenError(f"--max-members must be at most {MAX_MEMBERS}, got {max_members}")
    last, span = cfg.seed + seeds - 1, HEAD_SEED_OFFSET
    if last + span > MAX_SEED:
        raise StackgenError(
            f"--seed {cfg.seed} with --seeds {seeds} reaches seed {last}, and its members and "
            f"head use seeds up to {span} above that; every seed must stay below 2**32: use "
            f"--seed {MAX_SEED - span - seeds + 1} or lower"
        )
    for seed in _data_seeds(cfg, seeds, vary_data):
        settings.check(cfg, make_split(dataclasses.replace(cfg, data_random_state=seed)))


def _data_seeds(cfg: Config, seeds: int, vary_data: bool) -> list[int]:
    """The data_random_state of every seed's data set."""
    return list(range(cfg.seed, cfg.seed + seeds)) if vary_data else [cfg.data_random_state]


def add_flags(parser) -> None:
    """This step's own flags, besides the shared ones."""
    parser.add_argument(
        "--seeds", type=positive_int, default=30, help="how many seeds (default: %(default)s)"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=default_jobs(),
        help="parallel processes (default: the number of cores, %(default)s)",
    )
    parser.add_argument(
        "--max-members",
        type=positive_int,
        default=10,
        help="members per seed for the accuracy-against-members curve (default: %(default)s)",
    )
    parser.add_argument(
        "--vary-data",
        action="store_true",
        help="draw a new data set for each seed too (default: the tutorial's)",
    )


def run(
    cfg: Config,
    seeds: int = 30,
    jobs: int = 1,
    max_members: int = 10,
    vary_data: bool = False,
) -> dict:
    _check_settings(cfg, seeds, max_members, vary_data)
    out, paths = Printer(cfg), Paths.of(cfg)
    folder = paths.result("repeat") / settings_key(cfg, max_members, vary_data)
    wanted = list(range(cfg.seed, cfg.seed + seeds))
    todo = [s for s in wanted if _done(folder / f"seed_{s:04d}.json") is None]
    out.info(
        f"repeat study: {seeds} seeds, {len(wanted) - len(todo)} already done in "
        f"{paths.rel(folder)}, {len(todo)} to run on {cluster.describe(jobs, cfg.scheduler)}"
    )
    began = time.perf_counter()
    results = cluster.run_all(
        run_seed,
        # A seed on a worker trains there: no cluster of its own.
        [(dataclasses.replace(cfg, scheduler=None), s, max_members, vary_data) for s in todo],
        jobs,
        cfg.scheduler,
    )
    for done, result in enumerate(results, start=1):
        seed_file = write_json(folder / f"seed_{result['seed']:04d}.json", result)
        out.made(NUMBER, [seed_file], [], already_said=(seed_file,), max_members=max_members)
        out.info(
            f"  seed {result['seed']} done in {result['seconds']:.1f} s "
            f"({done}/{len(todo)}, {time.perf_counter() - began:.0f} s so far)"
        )
        progress.current().trained("seeds", done, len(todo))
    seed_files = [folder / f"seed_{s:04d}.json" for s in wanted]
    per_seed = [_done(path) for path in seed_files]
    task = make_split(cfg).task
    summary = summarise(per_seed, cfg, task)
    for line in format_summary(summary, task.metric):
        out.result(line)
    figure = plots.plot_vary_members(
        summary["vary_members"], paths.figure("vary_members.png"), task.metric
    )
    result = {
        "task": task.name,
        "metric": task.metric,
        "seeds": wanted,
        "jobs": jobs,
        "max_members": max_members,
        "vary_data": vary_data,
        "wall_seconds": time.perf_counter() - began,
        "settings": folder.name,
        **summary,
    }
    outputs = [figure, write_json(paths.result("repeat_study.json"), result)]
    out.made(NUMBER, outputs, seed_files, seeds=seeds, max_members=max_members, vary_data=vary_data)
    return result


def _done(path) -> dict | None:
    """A finished seed's numbers, or None when the file is missing or unreadable (run again)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and "methods" in result else None


def summarise(per_seed: list[dict], cfg: Config, task=CLASSIFICATION) -> dict:
    methods: dict = {}
    for protocol in cfg.protocols:
        table = {}
        for label in per_seed[0]["methods"][protocol]:
            values = [r["methods"][protocol][label] for r in per_seed]
            best = [r["methods"][protocol][BEST] for r in per_seed]
            table[label] = {**stats.summary(values), "vs_best_member": stats.paired(values, best)}
        methods[protocol] = table
    curves: dict = {}
    for protocol in cfg.protocols:
        for label in (BEST, experiments.average_label(task), experiments.stack_label(task)):
            by_k = np.array([r["vary_members"][protocol][label] for r in per_seed])
            curves.setdefault(protocol, {})[label] = [
                stats.summary(by_k[:, k]) for k in range(by_k.shape[1])
            ]
    return {"methods": methods, "vary_members": curves}


def format_summary(summary: dict, metric: str = "accuracy") -> list[str]:
    lines = []
    for protocol, table in summary["methods"].items():
        width = max(len(label) for label in table)
        lines.append(
            f"{protocol}: mean {'R2' if metric == 'r2' else metric} [95% CI]; difference from "
            "the best member "
            f"[95% CI], Wilcoxon p, wins/ties/losses"
        )
        for label, s in table.items():
            d = s["vs_best_member"]
            lines.append(
                f"  {label:<{width}}  {s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"
                f"  {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
                f"  p={stats.format_p(d['wilcoxon_p']):<6}  {d['wins']}/{d['ties']}/{d['losses']}"
            )
    return lines


def default_jobs() -> int:
    return cluster.default_workers()
