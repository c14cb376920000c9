"""Which protocol's stacks ``predict`` serves: the ones step 4 saved last, as its summary
(``results/stack_logistic.json``) lists them, the most honest first (``cv``, then ``holdout``,
then the tutorial's, whose stack was fit on the test rows it was scored on). No skops here, so
``doctor`` can ask without loading it (``metalearner_files.py`` loads the files themselves).
"""

from __future__ import annotations

import re
from pathlib import Path

from stackgen import registry
from stackgen.trust.errors import StackgenError
from stackgen.workdir import lineage
from stackgen.workdir.paths import Paths, corrupt, read_json


def served_files(paths: Paths) -> dict:
    """Protocol -> the meta-learner file step 4 saved last for it, as its summary lists them."""
    return _summary(paths)["meta_files"]


def _summary(paths: Paths) -> dict:
    """Step 4's summary, its lineage checked and its meta-learner files listed."""
    summary_path = paths.result("stack_logistic.json")
    summary = read_json(summary_path, paths)
    lineage.verify(paths, summary_path)
    files = summary.get("meta_files")
    if not isinstance(files, dict) or not files:
        raise corrupt(summary_path, paths, "it lists no meta-learner files")
    return summary


# The most honest first: the default of predict and of doctor's list.
BY_HONESTY = ("cv", "holdout", "tutorial")


def served_protocols(paths: Paths) -> list[str]:
    """The protocols step 4 last saved a meta-learner for, the most honest first; those that
    step 5 also saved a network for come first (``predict`` serves both)."""
    return _with_networks_first(paths, _in_order(served_files(paths)))


def _with_networks_first(paths: Paths, made: list[str]) -> list[str]:
    return sorted(made, key=lambda p: not paths.stacked_network_for(p).is_file())


def served_stack(paths: Paths, asked: str | None) -> tuple[str, Path]:
    """The protocol whose stacks to serve and its meta-learner file: ``asked``, refused in one
    line naming the ones there are if step 4 did not run it; else the most honest one there is
    (``BY_HONESTY``) with step 5's network too."""
    files = served_files(paths)
    made = _in_order(files)
    if asked is None:
        asked = _with_networks_first(paths, made)[0]
    if asked not in made:
        raise StackgenError(
            f"step 4 last ran without the {asked} protocol, only with {', '.join(made)}: add "
            f"--protocol {made[0]}, or run {registry.step(4).script}{_other_than_protocol(paths)} "
            f"--protocol {asked} (or --protocol all) first"
        )
    return asked, paths / str(files[asked])


def described(paths: Paths, protocol: str) -> str:
    """What ``predict`` says first on stderr: which stack answers and the score step 4 printed
    for it, ``serving the cv protocol's stack: logistic regression meta-learner, test accuracy
    0.833 (95% CI 0.771-0.884), fit out of fold (--protocol picks: holdout, tutorial)``."""
    summary = _summary(paths)
    made = _in_order(summary["meta_files"])
    row = summary.get("protocols", {}).get(protocol, {})
    score = row.get("stacked_score")
    interval = row.get("stacked_interval")
    metric = summary.get("metric", "score")
    scored = f", test {metric} {score:.3f}" if isinstance(score, (int, float)) else ""
    if scored and isinstance(interval, list) and len(interval) == 2:
        scored += f" (95% CI {interval[0]:.3f}-{interval[1]:.3f})"
    how = {
        "cv": "fit on out-of-fold predictions of the training rows",
        "holdout": "fit on held-out training rows",
        "tutorial": "fit on the test rows it was scored on, the tutorial's leak",
    }[protocol]
    others = [p for p in made if p != protocol]
    pick = f" (--protocol picks: {', '.join(others)})" if others else ""
    label = summary.get("meta_label", summary.get("meta", "the"))
    raw = " on the members and the raw features" if summary.get("passthrough") else ""
    return (
        f"serving the {protocol} protocol's stack: {label} meta-learner{raw}{scored}, {how}{pick}"
    )


def _in_order(files: dict) -> list[str]:
    return [p for p in BY_HONESTY if p in files]


def _other_than_protocol(paths: Paths) -> str:
    """The work dir's flags without the --protocol it ran with (the hint asks for another)."""
    return re.sub(r" --protocol(=| )\S+", "", paths.flags)
