"""Where every artifact lives, and the one-line errors that name the step that makes it.

All paths hang off one work directory (``--workdir``), never the current directory. Which step
makes which file is the registry's business (``registry.maker_of``); the messages here ask it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from stackgen import registry
from stackgen.config import PROTOCOLS, Config
from stackgen.data.split import ArrayFile, TableFile, source_of
from stackgen.trust.errors import CorruptArtifactError, MissingArtifactError


@dataclass(frozen=True)
class Paths:
    workdir: Path
    force: bool = False  # use artifacts whose lineage does not hold, with a warning
    # The run's settings, for the flags its hints carry; None: hints carry none.
    settings: Config | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, cfg: Config) -> Paths:
        return cls(cfg.workdir, cfg.force, cfg)

    @cached_property
    def flags(self) -> str:
        """What every hint's command carries so that it rebuilds this work dir from this data
        (" --workdir W --data F --target T"; ``Config.identity_flags``). Worked out when a hint
        first needs it: it may read the split or lineage for the data."""
        return "" if self.settings is None else with_recorded_data(self.settings).identity_flags()

    @cached_property
    def member_flags(self) -> str:
        """What a hint that runs step 3 (or ``run``) carries besides ``flags``: the members
        trained elsewhere that step 3 imported (" --member-files a.keras b.keras"), from the
        settings or, when they name none, from step 3's manifest."""
        return "" if self.settings is None else with_recorded_members(self.settings).member_flags()

    def __truediv__(self, relative: str) -> Path:
        return self.workdir / relative

    @property
    def data(self) -> Path:
        return self.workdir / "data" / "split.npz"

    @property
    def preprocessor(self) -> Path:
        # A table's column transformer, fit by step 1 on the training rows (data/columns.py).
        return self.workdir / "data" / "preprocess.skops"

    @property
    def models_dir(self) -> Path:
        return self.workdir / "models"

    def member(self, index: int) -> Path:
        return self.models_dir / f"member_{index}.keras"

    @property
    def members_manifest(self) -> Path:
        # Lists exactly the members of the latest step-3 run; later steps read it, never a glob.
        return self.models_dir / "members.json"

    @property
    def oof(self) -> Path:
        # Out-of-fold member predictions on the training rows, for the cv protocol.
        return self.models_dir / "oof_predictions.npz"

    def meta_learner_for(self, protocol: str, suffix: str) -> Path:
        """Step 4's meta-learner for ``protocol``: ``.skops`` (scikit-learn) or ``.json``."""
        tail = "" if protocol == "tutorial" else f"_{protocol}"
        return self.models_dir / f"meta_learner{tail}{suffix}"

    def stacked_network_for(self, protocol: str) -> Path:
        tail = "" if protocol == "tutorial" else f"_{protocol}"
        return self.models_dir / f"stacked_network{tail}.keras"

    def figure(self, name: str) -> Path:
        return self.workdir / "figures" / name

    def result(self, name: str) -> Path:
        return self.workdir / "results" / name

    def report(self, name: str) -> Path:
        return self.workdir / "reports" / name

    @property
    def lineage(self) -> Path:
        return self.workdir / "lineage.json"

    def rel(self, path: Path) -> str:
        """A path as printed: relative to the work dir when inside it."""
        try:
            return path.relative_to(self.workdir).as_posix()
        except ValueError:
            return str(path)


def remake_hint(path: Path, paths: Paths) -> str:
    """What makes ``path`` again: "run scripts/04_stack_logistic.py (or python -m stackgen run)"."""
    try:
        return registry.maker_of(paths.rel(path)).hint(paths.flags, paths.member_flags)
    except KeyError:  # a file no step writes (a model the user saved elsewhere)
        return "make it again"


def require(path: Path, paths: Paths) -> Path:
    """Return ``path`` if it exists, else fail naming the step that makes it."""
    if not path.is_file():
        raise MissingArtifactError(f"{paths.rel(path)} is missing: {remake_hint(path, paths)}")
    return path


def corrupt(path: Path, paths: Paths, why: object) -> CorruptArtifactError:
    reason = str(why).strip().splitlines()[0] if str(why).strip() else type(why).__name__
    return CorruptArtifactError(
        f"{paths.rel(path)} could not be read ({reason[:160]}): {remake_hint(path, paths)}"
    )


def read_json(path: Path, paths: Paths) -> dict:
    """A JSON object a step wrote, or one line naming the step that writes it."""
    require(path, paths)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise corrupt(path, paths, exc) from None
    if not isinstance(payload, dict):
        raise corrupt(path, paths, "not a JSON object")
    return payload


def with_recorded_data(cfg: Config) -> Config:
    """``cfg``, with the table, target, task and test size of the work dir's data when ``cfg``
    names none: what the hints of a command given only ``--workdir`` (``predict``, ``doctor``, a
    numbered script) carry, so that they rebuild the user's table and not the blobs. Read from
    the split step 1 saved or, where that is gone or unreadable, from the settings lineage
    recorded for it. A work dir with neither gives ``cfg`` as it is."""
    if cfg.data_file is not None:
        return cfg
    recorded = _split_settings(Path(cfg.workdir))
    if recorded is None:
        recorded = _lineage_settings(Path(cfg.workdir))
    if not recorded or not recorded.get("data_file"):
        return cfg
    try:
        return dataclasses.replace(
            cfg,
            data_file=Path(recorded["data_file"]),
            target=None if recorded.get("target") is None else str(recorded["target"]),
            task=str(recorded.get("task", "auto")),
            test_size=float(recorded.get("test_size", cfg.test_size)),
            sep=recorded.get("sep"),
            categorical=tuple(recorded.get("categorical") or ()),
            drop=tuple(recorded.get("drop") or ()),
            groups=recorded.get("groups"),
            time=recorded.get("time"),
            weights=recorded.get("weights"),
        )
    except (KeyError, TypeError, ValueError):
        return cfg


def split_params(workdir: Path) -> dict | None:
    """The parameters saved in the work dir's split, or None where it is missing or
    unreadable (the steps that load it say so)."""
    try:
        with np.load(workdir / "data" / "split.npz", allow_pickle=False) as npz:
            params = json.loads(str(npz["params_json"]))
    except Exception:  # noqa: BLE001 - missing or unreadable
        return None
    return params if isinstance(params, dict) else None


def _split_settings(workdir: Path) -> dict | None:
    """The data settings recorded in the split's parameters, or None."""
    params = split_params(workdir)
    if params is None:  # ask lineage
        return None
    try:
        source = source_of(params)
    except KeyError:  # parameters the steps would refuse: no data settings from them
        return {}
    asked = str(params.get("task_reason", "")).startswith("--task")
    if isinstance(source, ArrayFile):
        return {
            "data_file": source.file,
            "target": None,
            "task": params.get("task") if asked else "auto",
        }
    if not isinstance(source, TableFile):
        return {}
    return {
        "data_file": source.file,
        "target": source.target,
        "task": params.get("task") if asked else "auto",
        "test_size": params.get("test_size"),
        "sep": params.get("sep"),
        "categorical": params.get("categorical"),
        "drop": params.get("drop"),
        "groups": params.get("groups"),
        "time": params.get("time"),
        "weights": params.get("weights"),
    }


def _lineage_settings(workdir: Path) -> dict | None:
    """The settings lineage recorded when step 1 made the split, or None."""
    try:
        store = json.loads((workdir / "lineage.json").read_text("utf-8"))
        return dict(store["data/split.npz"]["params"])
    except Exception:  # noqa: BLE001 - no readable record
        return None


def with_recorded_members(cfg: Config) -> Config:
    """``cfg``, with the members step 3's manifest records when ``cfg`` names none of its own
    (no member files, and the defaults for the members' count, epochs, early stopping, seed and
    diversity): the member files and epochs of members trained elsewhere, or the settings that
    trained stackgen's own. A work dir keeps its members in every hint that reruns step 3."""
    d = Config.__dataclass_fields__
    named = ("member_files", "members", "epochs", "early_stopping", "seed", "diverse")
    if any(getattr(cfg, name) != d[name].default for name in named):
        return cfg
    try:
        manifest = json.loads((Path(cfg.workdir) / "models" / "members.json").read_text("utf-8"))
        stopping = manifest.get("early_stopping")
        trained = {
            "epochs": int(manifest["epochs"]),
            "seed": int(manifest["seed"]),
            "early_stopping": None if stopping is None else int(stopping["patience"]),
        }
        if manifest.get("imported"):
            sources = [item["source"] for item in manifest["imported"]]
            if not all(isinstance(s, str) for s in sources):
                return cfg
            return dataclasses.replace(cfg, member_files=tuple(map(Path, sources)), **trained)
        members = len(manifest["members"])
        diverse = dataclasses.replace(cfg, diverse=True)
        shapes = [tuple(shape) for shape in manifest["architectures"]]
        diverse = members > 1 and shapes == [
            diverse.member_architecture(i) for i in range(1, members + 1)
        ]
        return dataclasses.replace(cfg, members=members, diverse=diverse, **trained)
    except Exception:  # noqa: BLE001 - no readable manifest: the settings as they are
        return cfg


def made_with(workdir: Path) -> Config:
    """The settings that name ``workdir``'s run, for commands that take only ``--workdir``
    (``predict``, ``doctor``): its data (``with_recorded_data``), the folds step 3 used, and the
    protocols step 4 ran when it ran only some."""
    cfg = with_recorded_data(Config(workdir=workdir))
    try:
        manifest = json.loads((workdir / "models" / "members.json").read_text("utf-8"))
        cfg = dataclasses.replace(cfg, folds=int(manifest["folds"]))
    except Exception:  # noqa: BLE001 - no members yet: the default folds
        pass
    try:
        summary = json.loads((workdir / "results" / "stack_logistic.json").read_text("utf-8"))
        ran = tuple(p for p in PROTOCOLS if p in summary["meta_files"])
        return dataclasses.replace(cfg, protocols=ran) if ran else cfg
    except Exception:  # noqa: BLE001 - no step-4 summary yet: every protocol
        return cfg
