"""Which protocol's stacks ``predict`` serves: the ones step 4 saved last, as its summary
(``results/stack_logistic.json``) lists them. No skops here, so ``doctor`` can ask without
loading it (``metalearner_files.py`` loads the files themselves).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from stackgen import registry
from stackgen.config import PROTOCOLS
from stackgen.trust.errors import StackgenError
from stackgen.workdir import lineage
from stackgen.workdir.paths import Paths, corrupt, read_json


def served_files(paths: Paths) -> dict:
    """Protocol -> the meta-learner file step 4 saved last for it, as its summary lists them."""
    summary_path = paths.result("stack_logistic.json")
    summary = read_json(summary_path, paths)
    lineage.verify(paths, summary_path)
    files = summary.get("meta_files")
    if not isinstance(files, dict) or not files:
        raise corrupt(summary_path, paths, "it lists no meta-learner files")
    return files


def served_protocols(paths: Paths) -> list[str]:
    """The protocols step 4 last saved a meta-learner for, in PROTOCOLS order."""
    return _in_order(served_files(paths))


def served_stack(paths: Paths, asked: str | None) -> tuple[str, Path]:
    """The protocol whose stacks to serve and its meta-learner file: ``asked``, refused in one
    line naming the ones there are if step 4 did not run it; else the tutorial's, or the only
    one there is, with a note."""
    files = served_files(paths)
    made = _in_order(files)
    if asked is None:
        asked = "tutorial" if "tutorial" in made else made[0]
        if asked != "tutorial":
            others = f" ({', '.join(made)} here; --protocol picks)" if len(made) > 1 else ""
            print(
                f"note: serving the {asked} protocol's stacks: step 4 last ran without the "
                f"tutorial's{others}",
                file=sys.stderr,
                flush=True,
            )
    if asked not in made:
        raise StackgenError(
            f"step 4 last ran without the {asked} protocol, only with {', '.join(made)}: add "
            f"--protocol {made[0]}, or run {registry.step(4).script}{_other_than_protocol(paths)} "
            f"--protocol {asked} (or --protocol all) first"
        )
    return asked, paths / str(files[asked])


def _in_order(files: dict) -> list[str]:
    return [p for p in PROTOCOLS if p in files]


def _other_than_protocol(paths: Paths) -> str:
    """The work dir's flags without the --protocol it ran with (the hint asks for another)."""
    return re.sub(r" --protocol(=| )\S+", "", paths.flags)
