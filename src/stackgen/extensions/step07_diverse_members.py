"""Step 7: identical members against members of different widths and depths.

Script: scripts/07_diverse_members.py. Trains both sets of members afresh (nothing is saved but
the table), each under every protocol.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stackgen import cluster, step_skips
from stackgen.config import Config
from stackgen.methods import experiments, integrated, members, protocols
from stackgen.step_io import Printer, print_interval_widths
from stackgen.trust.atomic import write_json
from stackgen.workdir import own_members
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
    with cluster.trainings_on(cfg.scheduler) as trainings:
        trained = {kind: _trained(split, cfg, diverse) for kind, diverse in kinds.items()}
    if cfg.scheduler:
        out.info(cluster.tasks_said(trainings))
    for kind, diverse in kinds.items():
        kind_cfg = dataclasses.replace(cfg, diverse=diverse)
        models, oof = trained[kind]
        oof = None if oof is None else oof[0]
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
    out.made(NUMBER, [write_json(paths.result("diverse.json"), result)], [paths.data])
    return result


def _trained(split, cfg: Config, diverse: bool) -> tuple[list, object]:
    """Identical (or diverse) members trained afresh, and their out-of-fold predictions."""
    kind_cfg = dataclasses.replace(cfg, diverse=diverse)
    chosen = own_members.tutorial_members(split, kind_cfg)
    models, oof, _ = own_members.train_and_out_of_fold(chosen, split, kind_cfg, cfg.needs_oof)
    return models, oof
