"""Step 4's meta-learners on disk: saved with their kind and settings, loaded without running code.

Scikit-learn meta-learners go to ``.skops`` files (skops refuses any type not listed in
``TRUSTED_TYPES`` instead of running it); the project's own weighting combiners (mlr, nnls,
greedy) go to ``.json`` files of numbers. ``load_served`` gives ``predict`` and step 9 exactly the
meta-learner step 4 saved last, the one whose score it printed. skops takes seconds to import:
``trust/skops_files.py`` imports it only when a file is written or read.
"""

from __future__ import annotations

from pathlib import Path

from stackgen.methods.metalearners import (
    SPECS,
    TRUSTED_TYPES,
    Combiner,
    GreedySelection,
    MultiResponseLinear,
    NonNegativeWeights,
    SklearnMeta,
)
from stackgen.trust import skops_files
from stackgen.trust.atomic import write_json
from stackgen.trust.errors import StackgenError
from stackgen.workdir import lineage
from stackgen.workdir.paths import Paths, corrupt, read_json, remake_hint, require
from stackgen.workdir.safe_reads import load_skops

# The project's own combiners, by kind, as saved in .json files.
OWN_KINDS = {"mlr": MultiResponseLinear, "nnls": NonNegativeWeights, "greedy": GreedySelection}


def suffix_of(meta: Combiner) -> str:
    """The file type a fitted meta-learner is saved as."""
    return ".skops" if isinstance(meta, SklearnMeta) else ".json"


def save_meta(meta: Combiner, path: Path, n_inputs: int) -> Path:
    """Save a fitted meta-learner with its kind and settings; ``n_inputs`` is the number of
    member-output columns it was fit on (raw features not counted)."""
    settings = {"kind": meta.kind, "passthrough": meta.passthrough, "n_inputs": n_inputs}
    if isinstance(meta, SklearnMeta):
        bundle = {**settings, "estimator": meta.estimator}
        return skops_files.save(bundle, path)
    return write_json(path, {**settings, "state": meta.state()})


def load_meta(path: Path, paths: Paths) -> tuple[Combiner, int]:
    """A meta-learner step 4 saved, and the member-output columns it takes; loaded without
    running code from the file (skops with the trusted types above, or JSON numbers)."""
    require(path, paths)
    bundle = read_json(path, paths) if path.suffix == ".json" else _read_skops(path, paths)
    try:
        kind, passthrough, n_inputs = bundle["kind"], bundle["passthrough"], bundle["n_inputs"]
        if path.suffix == ".json":
            meta = OWN_KINDS[kind]() if kind != "mlr" else MultiResponseLinear(bool(passthrough))
            meta.load_state(bundle["state"])
        else:
            meta = SklearnMeta(str(kind), bundle["estimator"], bool(passthrough))
            if type(meta.estimator) not in _expected_estimators().get(kind, ()):
                raise StackgenError(
                    f"{paths.rel(path)} holds a {type(meta.estimator).__name__}, not the "
                    f"{kind} meta-learner it names: {remake_hint(path, paths)}"
                )
        if not isinstance(n_inputs, int):
            raise ValueError("n_inputs is not a whole number")
    except StackgenError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise corrupt(path, paths, f"not a saved meta-learner ({exc!r})") from None
    return meta, n_inputs


def _expected_estimators() -> dict[str, set[type]]:
    """Kind -> the scikit-learn estimator types that kind is made of."""
    expected: dict[str, set[type]] = {}
    for candidate in SPECS:
        made = candidate.make(0, False)
        if isinstance(made, SklearnMeta):
            expected.setdefault(candidate.kind, set()).add(type(made.estimator))
    return expected


def _read_skops(path: Path, paths: Paths) -> dict:
    bundle = load_skops(path, paths, TRUSTED_TYPES)
    if not isinstance(bundle, dict) or not hasattr(bundle.get("estimator"), "fit"):
        raise StackgenError(
            f"{paths.rel(path)} holds a {type(bundle).__name__}, not a meta-learner saved by "
            f"step 4: {remake_hint(path, paths)}"
        )
    return bundle


def load_served(paths: Paths, path: Path, n_inputs: int) -> tuple[Combiner, str]:
    """The meta-learner step 4 saved last for a protocol (``path``, from
    ``served.served_stack``), and its kind: exactly the one whose score step 4 printed; lineage
    vouches for it."""
    meta, fitted_on = load_meta(path, paths)
    lineage.verify(paths, path)
    if fitted_on != n_inputs:
        raise StackgenError(
            f"{paths.rel(path)} was fit on {fitted_on} member outputs, but the members give "
            f"{n_inputs}: {remake_hint(path, paths)}"
        )
    return meta, meta.kind
