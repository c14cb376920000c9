"""Step 7: identical members against members of different widths and depths.

Script: scripts/07_diverse_members.py. Each set of members is stacked under every protocol.
The set step 3 trained with this run's settings (identical members, or diverse ones under
``--diverse``) is step 3's own files, when they are current: the same settings and seeds would
train the same weights again. The other set, or both when step 3's files are missing, stale or
from other settings, is trained afresh, and nothing is saved but the table.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from stackgen import cluster, step_skips
from stackgen.config import Config
from stackgen.data.split import Split
from stackgen.methods import experiments, integrated, members, protocols
from stackgen.step_io import NOT_PARAMS, Printer, print_interval_widths, stacking_inputs
from stackgen.trust.atomic import write_json
from stackgen.workdir import lineage, member_files, own_members
from stackgen.workdir.split_files import load_split

NUMBER = 7


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = load_split(paths)
    why = step_skips.reason_in(paths.workdir, NUMBER)
    if why:
        out.result(step_skips.said(NUMBER, why))
        return {"skipped": why}
    labels = [
        experiments.BEST,
        experiments.average_label(split.task),
        experiments.stack_label(split.task),
        experiments.INTEGRATED,
    ]
    scores, kinds, identical_rows = {}, {"identical": False, "diverse": True}, []
    step_3s = _step_3s(out, cfg, split)
    trained, inputs = {}, [paths.data]
    if step_3s is not None:
        kind = "diverse" if cfg.diverse else "identical"
        trained[kind], inputs = step_3s, stacking_inputs(paths, cfg.members, cfg)
        out.info(f"{kind} members: step 3's, trained with these settings")
    with cluster.trainings_on(cfg.scheduler) as trainings:
        for kind, diverse in kinds.items():
            if kind not in trained:
                trained[kind] = _trained(split, cfg, diverse)
    if cfg.scheduler:
        out.info(cluster.tasks_said(trainings))
    for kind, diverse in kinds.items():
        kind_cfg = dataclasses.replace(cfg, diverse=diverse)
        models, oof = trained[kind]
        test_P = np.stack(members.member_probabilities(models, split.test_X), axis=1)
        for rows in protocols.rows_for(split, test_P, oof, kind_cfg.protocol_objects()):
            identical_rows += [rows] if not diverse else []
            scores[f"{kind} {rows.protocol}"] = experiments.evaluate(
                rows, cfg.seed, integrated.network_score(models, kind_cfg.head()), only=labels
            )
    architectures = [
        list(dataclasses.replace(cfg, diverse=True).member_architecture(i))
        for i in range(1, cfg.members + 1)
    ]
    out.info(f"diverse members' hidden layers: {architectures}")
    for line in experiments.format_table(scores, labels):
        out.result(line)
    print_interval_widths(  # the same scored rows for both kinds of members
        out, identical_rows, {r.protocol: scores[f"identical {r.protocol}"] for r in identical_rows}
    )
    result = {
        **split.labels(),
        "scores": scores,
        "diverse_architectures": architectures,
        "seed": cfg.seed,
    }
    out.made(NUMBER, [write_json(paths.result("diverse.json"), result)], inputs)
    return result


def _step_3s(out: Printer, cfg: Config, split: Split) -> tuple[list, object] | None:
    """Step 3's members and out-of-fold predictions (None without the cv protocol), when step
    3 trained stackgen's MLPs with exactly this run's settings and every file it wrote is
    current; else None."""
    paths = out.paths
    store = lineage.load_store(paths)
    entry = store.get(paths.rel(paths.members_manifest))
    wanted = json.loads(json.dumps({k: v for k, v in cfg.as_dict().items() if k not in NOT_PARAMS}))
    if not isinstance(entry, dict) or not isinstance(entry.get("params"), dict):
        return None
    if any(entry["params"].get(k, object()) != v for k, v in wanted.items()):
        return None
    files = stacking_inputs(paths, cfg.members, cfg)[1:]
    if cfg.needs_oof and paths.oof not in files:
        return None  # step 3 could not make them
    if any(not path.is_file() or lineage.problem(paths, path, store) for path in files):
        return None
    models = member_files.load_members(paths, split)
    if len(models) != cfg.members:
        return None
    oof = member_files.load_oof(paths, split, len(models)) if cfg.needs_oof else None
    return models, oof


def _trained(split, cfg: Config, diverse: bool) -> tuple[list, object]:
    """Identical (or diverse) members trained afresh, and their out-of-fold predictions."""
    kind_cfg = dataclasses.replace(cfg, diverse=diverse)
    chosen = own_members.tutorial_members(split, kind_cfg)
    models, oof, _ = own_members.train_and_out_of_fold(chosen, split, kind_cfg, cfg.needs_oof)
    return models, None if oof is None else oof[0]
