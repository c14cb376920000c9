"""A fitted stack in one file, and read back without running code from it.

The file is a zip archive of the formats the command line uses:

* ``stack.json``: the estimator's class, its settings and what ``fit`` learnt that is numbers
  (classes, the target's scale, which rows the meta-learner was fit on, how X was given);
* ``members/member_i.keras``: each member, loaded back with Keras's ``safe_mode`` (and refused if
  it holds a Lambda layer, before Keras reads it);
* ``final.skops`` (a scikit-learn meta-learner, and the splitter given as ``cv``), ``final.json``
  (stackgen's weighting combiners: numbers) or ``final.keras`` (the network head);
* ``preprocess.skops``: a table's column transformer; ``oof.npz``: the out-of-fold predictions.

skops refuses any type not trusted by itself or listed here, instead of running it; a stack
whose final estimator is of a type not listed is refused on load unless ``trusted=`` names it.
Nothing is unpickled, and the loaded stack predicts the same bits. The file is written to a
temporary name and renamed into place, so a save cut short never leaves half a file.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

from stackgen.api import data as api_data
from stackgen.data import columns
from stackgen.methods import final_estimators, members, metalearners
from stackgen.methods.final_estimators import NetworkCombiner
from stackgen.methods.integrated import NetworkHead
from stackgen.methods.metalearners import BestMember, SklearnMeta
from stackgen.trust import skops_files
from stackgen.trust.atomic import write_atomic
from stackgen.trust.errors import StackgenError, UnreadableFileError

FORMAT = "stackgen-stack"
VERSION = 1
# Types a saved meta-learner, splitter or column transformer may hold beyond those skops trusts
# by default; every other type is refused unless the caller trusts it.
TRUSTED_TYPES = [
    *metalearners.TRUSTED_TYPES,
    *columns.TRUSTED_TYPES,
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.model_selection._split.GroupKFold",
    "sklearn.model_selection._split.StratifiedGroupKFold",
    "sklearn.model_selection._split.TimeSeriesSplit",
    "sklearn.model_selection._split.PredefinedSplit",
    "sklearn.model_selection._split.LeaveOneGroupOut",
]
OWN = {"mlr": metalearners.MultiResponseLinear, "nnls": metalearners.NonNegativeWeights}
OWN |= {"greedy": metalearners.GreedySelection, "weights": metalearners.WeightedAverage}
BASELINES = {
    "average": metalearners.Average,
    "best_member": metalearners.BestMember,
    "vote": metalearners.MajorityVote,
}


def save(stack, path) -> Path:
    path = Path(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, model in enumerate(stack.members_, start=1):
            archive.writestr(f"members/member_{i}.keras", _keras_bytes(model))
        meta_record = _save_meta(stack._meta, stack.cv, archive)
        if stack._inputs.transformer is not None:
            archive.writestr("preprocess.skops", skops_files.dumps(stack._inputs.transformer))
        arrays = io.BytesIO()
        np.savez(
            arrays,
            oof_predictions=stack.oof_predictions_,
            meta_rows=stack.meta_rows_,
            folds=stack.folds_,
        )
        archive.writestr("oof.npz", arrays.getvalue())
        archive.writestr("stack.json", json.dumps(_record(stack, meta_record), indent=1))
    return write_atomic(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def load(path, kinds: dict, trusted: list[str] | None = None):
    """A stack ``save`` wrote, fitted as it was saved; ``kinds`` maps the estimators' class
    names to the classes. ``trusted`` lists further types a custom final estimator holds, when
    you trust the file."""
    path = Path(path)
    trusted = [*TRUSTED_TYPES, *(trusted or [])]
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise StackgenError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFileError(path, f"not a saved stack: {exc}") from None
    with archive, tempfile.TemporaryDirectory() as folder:
        try:
            return _read(archive, path, kinds, trusted, folder)
        except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
            if isinstance(exc, StackgenError):
                raise
            raise UnreadableFileError(path, f"not a whole saved stack ({exc!r})") from None


def _read(archive: zipfile.ZipFile, path: Path, kinds: dict, trusted: list[str], folder: str):
    """The stack in an opened archive (``load``'s work)."""
    try:
        record = json.loads(archive.read("stack.json"))
    except (KeyError, ValueError) as exc:
        raise UnreadableFileError(path, f"not a saved stack ({exc})") from None
    if record.get("format") != FORMAT or record.get("version") != VERSION:
        raise UnreadableFileError(path, "not a stack saved by this version of stackgen")
    cls = kinds.get(record.get("estimator"))
    if cls is None:
        raise UnreadableFileError(path, f"unknown estimator {record.get('estimator')!r}")
    models = []
    for i in range(1, record["members"] + 1):
        where = Path(folder) / f"member_{i}.keras"
        where.write_bytes(archive.read(f"members/member_{i}.keras"))
        model, _ = members.load_member_file(where, f"{path.name}: member_{i}")
        models.append(model)
    meta, final_object, cv = _load_meta(record["meta"], archive, path, trusted, folder)
    final = record["final_estimator"]
    params = dict(
        record["params"], final_estimator=final_object if final["object"] else final["name"]
    )
    if record["params"]["cv"] == {"saved": "splitter"}:
        params["cv"] = cv
    stack = cls(members=models, **params)
    _restore(stack, record, archive, path, trusted, models, meta)
    return stack


# --- the parts ----------------------------------------------------------------------------------


def _keras_bytes(model: keras.Model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder) / "model.keras"
        model.save(where)
        return where.read_bytes()


def _save_meta(meta, cv, archive: zipfile.ZipFile) -> dict:
    splitter = None if _plain_cv(cv) else cv
    if isinstance(meta, NetworkCombiner):
        archive.writestr("final.keras", _keras_bytes(meta.head.model_))
        if splitter is not None:
            archive.writestr("final.skops", skops_files.dumps({"cv": splitter}))
        return {
            "kind": "network",
            "passthrough": meta.passthrough,
            "head": meta.head.get_params(),
        }
    if isinstance(meta, SklearnMeta):
        bundle = {"estimator": meta.estimator, "cv": splitter}
        archive.writestr("final.skops", skops_files.dumps(bundle))
        return {"kind": meta.kind, "passthrough": meta.passthrough, "sklearn": True}
    if splitter is not None:
        archive.writestr("final.skops", skops_files.dumps({"cv": splitter}))
    record = {"kind": getattr(meta, "kind", None), "passthrough": meta.passthrough}
    if isinstance(meta, metalearners.Weights | metalearners.MultiResponseLinear):
        record["kind"] = (
            meta.kind if not isinstance(meta, metalearners.WeightedAverage) else "weights"
        )
        record["state"] = meta.state()
    elif isinstance(meta, BestMember):
        record |= {"kind": "best_member", "index": meta.index_}
    elif isinstance(meta, metalearners.Average):
        record["kind"] = "average"
    elif isinstance(meta, metalearners.MajorityVote):
        record["kind"] = "vote"
    return record


def _plain_cv(cv) -> bool:
    return cv is None or isinstance(cv, str | int | float) and not isinstance(cv, bool)


def _record(stack, meta_record: dict) -> dict:
    params = stack.get_params(deep=False)
    final = params.pop("final_estimator")
    params.pop("members")
    if not _plain_cv(params["cv"]):
        params["cv"] = {"saved": "splitter"}
    # NumPy numbers (a grid search's values) as plain ones; a RandomState is saved as None.
    params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
    random_state = params["random_state"]
    params["random_state"] = random_state if isinstance(random_state, int) else None
    fitted = {
        "random_state_": stack.random_state_,
        "protocol_": stack.protocol_,
        "member_outputs_": stack.member_outputs_,
        "best_member": int(stack._best.index_),
        "inputs": {
            "kind": stack._inputs.kind,
            "shapes": {k: list(v) for k, v in stack._inputs.shapes.items()},
            "table_columns": stack._inputs.table_columns,
            "feature_names": stack._inputs.feature_names,
        },
    }
    for name in ("n_features_in_", "target_mean_", "target_scale_"):
        if hasattr(stack, name):
            fitted[name] = getattr(stack, name)
    if hasattr(stack, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in stack.feature_names_in_]
    if hasattr(stack, "classes_"):
        fitted["classes_"] = stack.classes_.tolist()
        fitted["classes_dtype"] = (
            "object" if stack.classes_.dtype == object else stack.classes_.dtype.str
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "estimator": type(stack).__name__,
        "params": params,
        "final_estimator": {
            "name": final if isinstance(final, str) else None,
            "object": not (final is None or isinstance(final, str)),
        },
        "members": len(stack.members_),
        "meta": meta_record,
        "fitted": fitted,
    }


def _load_meta(record: dict, archive, path: Path, trusted, folder):
    """(the fitted meta-learner, the final_estimator parameter, a saved splitter or None)."""
    kind, passthrough = record.get("kind"), bool(record.get("passthrough"))
    bundle = {}
    if "final.skops" in archive.namelist():
        bundle = skops_files.loads(
            archive.read("final.skops"), trusted, f"{path.name}: final.skops"
        )
    cv = bundle.get("cv")
    if kind == "network":
        where = Path(folder) / "final.keras"
        where.write_bytes(archive.read("final.keras"))
        head = NetworkHead(**record["head"])
        head.model_ = keras.saving.load_model(where, compile=False, safe_mode=True)
        head.passthrough_ = passthrough
        meta = NetworkCombiner(head, passthrough, seed=0, batch_size=0)
        return meta, head, cv
    if record.get("sklearn"):
        estimator = bundle["estimator"]
        meta = SklearnMeta(str(kind), estimator, passthrough)
        return meta, (estimator if kind == "custom" else None), cv
    if kind in OWN:
        meta = OWN[kind]() if kind != "mlr" else metalearners.MultiResponseLinear(passthrough)
        meta.load_state(record["state"])
        return meta, None, cv
    if kind in BASELINES:
        meta = BASELINES[kind]()
        if kind == "best_member":
            meta.index_ = int(record["index"])
        return meta, None, cv
    raise UnreadableFileError(path, f"unknown meta-learner {kind!r}")


def _restore(stack, record, archive, path, trusted, models, meta) -> None:
    fitted = record["fitted"]
    stack.members_ = models
    stack._meta = meta
    stack.final_estimator_ = final_estimators.fitted_estimator(meta)
    with np.load(io.BytesIO(archive.read("oof.npz")), allow_pickle=False) as arrays:
        stack.oof_predictions_ = arrays["oof_predictions"]
        stack.meta_rows_ = arrays["meta_rows"]
        stack.folds_ = arrays["folds"]
    stack.random_state_ = fitted["random_state_"]
    stack.protocol_ = fitted["protocol_"]
    stack.member_outputs_ = fitted["member_outputs_"]
    stack.encoded_names_ = fitted["inputs"]["feature_names"] or None
    best = BestMember()
    best.index_ = fitted["best_member"]
    stack._best = best
    inputs = fitted["inputs"]
    transformer = None
    if "preprocess.skops" in archive.namelist():
        transformer = skops_files.loads(
            archive.read("preprocess.skops"), trusted, f"{path.name}: preprocess.skops"
        )
    stack._inputs = api_data.Fitted(
        inputs["kind"],
        {k: tuple(v) for k, v in inputs["shapes"].items()},
        inputs["table_columns"],
        transformer,
        inputs["feature_names"],
    )
    for name in ("n_features_in_", "target_mean_", "target_scale_"):
        if name in fitted:
            setattr(stack, name, fitted[name])
    if "feature_names_in_" in fitted:
        stack.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    if "classes_" in fitted:
        dtype = fitted["classes_dtype"]
        stack.classes_ = np.asarray(
            fitted["classes_"], dtype=object if dtype == "object" else dtype
        )
