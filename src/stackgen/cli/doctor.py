"""``python -m stackgen doctor``: is this machine ready, and is this work dir complete and current?

Prints one line per check, ``ok`` or what is wrong and the command that fixes it, and exits 1 when
anything needs fixing. Reads only: it never trains, writes or deletes.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import shutil
import sys
from pathlib import Path

from stackgen import registry, step_skips
from stackgen.cli.console import BACKENDS
from stackgen.config import Config
from stackgen.trust.errors import StackgenError
from stackgen.workdir import lineage, served
from stackgen.workdir.paths import Paths, made_with, split_params

PACKAGES = (
    "tensorflow",
    "keras",
    "scikit-learn",
    "scipy",
    "joblib",
    "numpy",
    "skops",
    "matplotlib",
    "pydot",
)


def environment() -> list[tuple[bool, str]]:
    checks = [
        (
            sys.version_info >= (3, 11),
            f"Python {platform.python_version()}"
            + ("" if sys.version_info >= (3, 11) else ": stackgen needs 3.11 or newer"),
        )
    ]
    for name in PACKAGES:
        try:
            checks.append((True, f"{name} {md.version(name)}"))
        except md.PackageNotFoundError:
            checks.append((False, f"{name} is not installed: run make setup"))
    try:
        import keras

        checks.append(
            (
                True,
                f"Keras backend: {keras.backend.backend()} (KERAS_BACKEND=tensorflow, jax or "
                "torch); deterministic kernels are switched on by every training step",
            )
        )
    except ImportError:
        pass
    for name, (module, install) in BACKENDS.items():
        if name == "tensorflow":
            continue
        try:
            checks.append((True, f"optional backend {name} {md.version(module)}"))
        except md.PackageNotFoundError:
            checks.append((True, f"optional backend {name}: not installed ({install})"))
    dot = shutil.which("dot")
    checks.append(
        (
            dot is not None,
            f"Graphviz dot: {dot}"
            if dot
            else "Graphviz dot is missing (only figures/stacked_model.png needs it): "
            "sudo apt-get install graphviz",
        )
    )
    return checks


def artifacts(paths: Paths) -> list[tuple[bool | None, str]]:
    """Every file the registry's steps write: present, and its lineage intact. A missing file
    of the tutorial's steps (what ``predict`` serves) needs fixing; a missing extension's file
    is only noted (None). Every FIX line is a command that works when pasted: it carries the
    work dir and data (``paths.flags``)."""
    checks: list[tuple[bool | None, str]] = []
    try:
        store = lineage.load_store(paths)
    except StackgenError as exc:
        checks.append((False, str(exc)))
        store = None
    data_params = split_params(paths.workdir) or {}
    for step in registry.STEPS:
        skipped = step_skips.reason_in(paths.workdir, step.number)
        if skipped:
            checks.append((None, f"step {step.number} does not apply here: {skipped}"))
            continue
        for pattern in step.may_write:  # a figure this data never gets, and why
            name = pattern.removeprefix("figures/")
            why = name != pattern and step_skips.figure_reason_in(paths.workdir, name)
            if why:
                checks.append((None, f"{pattern} not made for this data: {why}"))
        if step.number == 3:  # every member the manifest lists, not only those still there
            for name in _listed_members(paths):
                if not (paths.models_dir / name).is_file():
                    checks.append(
                        (
                            False,
                            f"models/{name} is missing (models/members.json lists it): "
                            f"{step.rehint(paths.flags, paths.member_flags)}",
                        )
                    )
        for pattern in registry.required(step, data_params):
            if not (paths / pattern).is_file():
                needed = step.package == "tutorial"
                verb = "is missing" if needed else "not made yet"
                checks.append(
                    (
                        False if needed else None,
                        f"{pattern} {verb}: {step.hint(paths.flags, paths.member_flags)}",
                    )
                )
        if store is None:
            continue  # each file's record cannot be read: said once above
        made = {
            p for pattern in (*step.writes, *step.may_write) for p in paths.workdir.glob(pattern)
        }
        for path in sorted(made):
            why = lineage.problem(paths, path, store)
            line = (
                f"{paths.rel(path)}: ok"
                if why is None
                else f"{why}: {step.rehint(paths.flags, paths.member_flags)}"
            )
            checks.append((why is None, line))
    checks += _served(paths)
    return checks


def _listed_members(paths: Paths) -> list[str]:
    """The member files step 3's manifest lists ([] where it cannot be read: said elsewhere)."""
    try:
        manifest = json.loads(paths.members_manifest.read_text(encoding="utf-8"))
        names = manifest["members"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [n for n in names if isinstance(n, str) and "/" not in n and n.endswith(".keras")]


def _served(paths: Paths) -> list[tuple[bool | None, str]]:
    """Which protocols ``predict`` can serve here, and the command for each."""
    try:
        made = served.served_protocols(paths)
    except StackgenError:
        return []  # step 4's summary is missing or stale: said above
    workdir = Config(workdir=paths.workdir).identity_flags()  # predict takes only --workdir
    return [
        (
            True,
            f"predict serves the {protocol} protocol's stacks: python -m stackgen predict"
            f"{workdir}{'' if protocol == made[0] else f' --protocol {protocol}'}",
        )
        for protocol in made
    ]


def doctor(workdir: Path) -> int:
    paths = Paths.of(made_with(workdir))
    problems = 0
    for title, checks in (
        ("environment", environment()),
        (f"work dir {workdir}", artifacts(paths)),
    ):
        print(title)
        for ok, line in checks:
            problems += ok is False
            print(f"  {'ok ' if ok else '---' if ok is None else 'FIX'} {line}")
    print(
        "everything is in order"
        if problems == 0
        else f"{problems} thing{'s' if problems > 1 else ''} to fix; or run everything again: "
        f"python -m stackgen run{paths.flags}{paths.member_flags}"
    )
    return problems
