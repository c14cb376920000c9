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

from stackgen import lineage
from stackgen.artifacts import STEP_SCRIPTS, Paths
from stackgen.config import PROTOCOLS

PACKAGES = ("tensorflow", "keras", "scikit-learn", "numpy", "skops", "matplotlib", "pydot")


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
    for name, extra in (("jax", "jax"), ("torch", "torch")):
        try:
            checks.append((True, f"optional backend {name} {md.version(name)}"))
        except md.PackageNotFoundError:
            checks.append(
                (True, f"optional backend {name}: not installed (pip install -e .[{extra}])")
            )
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


def artifacts(paths: Paths) -> list[tuple[bool, str]]:
    """Each artifact the pipeline makes: present, and its lineage intact."""
    store = lineage.load_store(paths)
    expected = [(paths.data, 1), (paths.members_manifest, 3)]
    try:
        listed = json.loads(paths.members_manifest.read_text())["members"]
        expected += [(paths.models_dir / name, 3) for name in listed]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    # Step 3 makes out-of-fold predictions when it ran with the cv protocol.
    manifest_entry = store.get(paths.rel(paths.members_manifest), {})
    if "cv" in manifest_entry.get("params", {}).get("protocols", []) or paths.oof.exists():
        expected.append((paths.oof, 3))
    for protocol in PROTOCOLS:
        if protocol == "tutorial" or paths.meta_logistic_for(protocol).exists():
            expected.append((paths.meta_logistic_for(protocol), 4))
        if protocol == "tutorial" or paths.stacked_network_for(protocol).exists():
            expected.append((paths.stacked_network_for(protocol), 5))
    checks = []
    for path, step in expected:
        name = paths.rel(path)
        if not path.is_file():
            checks.append((False, f"{name} is missing: run {STEP_SCRIPTS[step]}"))
            continue
        why = lineage.problem(paths, path, store)
        checks.append(
            (why is None, f"{name}: ok" if why is None else f"{why}: re-run {STEP_SCRIPTS[step]}")
        )
    return checks


def doctor(workdir: Path) -> int:
    paths = Paths(workdir)
    problems = 0
    for title, checks in (
        ("environment", environment()),
        (f"work dir {workdir}", artifacts(paths)),
    ):
        print(title)
        for ok, line in checks:
            problems += not ok
            print(f"  {'ok ' if ok else 'FIX'} {line}")
    print(
        "everything is in order"
        if problems == 0
        else f"{problems} thing{'s' if problems > 1 else ''} to fix; or run everything again: "
        "python -m stackgen run"
    )
    return problems
