"""Which protocol's stacks ``predict`` serves: the ones step 4 saved last, as its summary
(``results/stack_logistic.json``) lists them. No skops here, so ``doctor`` can ask without
loading it (``metalearner_files.py`` loads the files themselves).
"""

from __future__ import annotations

import re
import sys

from stackgen import registry
from stackgen.config import PROTOCOLS
from stackgen.trust import lineage
from stackgen.trust.errors import StackgenError
from stackgen.trust.paths import Paths, corrupt, read_json


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
    files = served_files(paths)
    return [p for p in PROTOCOLS if p in files]


def served_protocol(paths: Paths, asked: str | None) -> str:
    """The protocol whose stacks to serve: ``asked``, refused in one line naming the ones there
    are if step 4 did not run it; else the tutorial's, or the only one there is, with a note."""
    made = served_protocols(paths)
    if asked is None:
        if "tutorial" in made:
            return "tutorial"
        others = f" ({', '.join(made)} here; --protocol picks)" if len(made) > 1 else ""
        print(
            f"note: serving the {made[0]} protocol's stacks: step 4 last ran without the "
            f"tutorial's{others}",
            file=sys.stderr,
            flush=True,
        )
        return made[0]
    if asked not in made:
        raise StackgenError(
            f"step 4 last ran without the {asked} protocol, only with {', '.join(made)}: add "
            f"--protocol {made[0]}, or run {registry.step(4).script}{_other_than_protocol(paths)} "
            "--protocol "
            f"{asked} (or --protocol all) first"
        )
    return asked


def _other_than_protocol(paths: Paths) -> str:
    """The work dir's flags without the --protocol it ran with (the hint asks for another)."""
    return re.sub(r" --protocol(=| )\S+", "", paths.flags)
