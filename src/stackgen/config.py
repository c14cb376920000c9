"""The tutorial's settings, in one frozen object that flags override.

Every random thing in the pipeline derives from ``Config.seed``: the single MLP uses ``seed``,
member ``i`` uses ``seed + i`` (i = 1..N), the integrated network's head uses
``seed + HEAD_SEED_OFFSET``. The data set is fixed by ``data_random_state`` as in the tutorial,
so changing ``--seed`` changes the networks, never the data.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from stackgen.methods import protocols
from stackgen.methods.seeds import HEAD_SEED_OFFSET, MAX_MEMBERS, MAX_SEED

PROTOCOLS = protocols.NAMES
# --diverse: member i gets the (i-1)-th of these hidden-layer stacks, cycling.
DIVERSE_ARCHITECTURES = ((10,), (25,), (50,), (25, 25), (25, 25, 25))


def default_workdir() -> Path:
    """The repository root when running from a checkout, else the current directory."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


@dataclass(frozen=True)
class Config:
    # Networks and training (tutorial: Dense(25, relu) -> Dense(3, softmax), Adam, batch 32).
    seed: int = 1
    epochs: int = 500
    meta_epochs: int = 300
    members: int = 5
    batch_size: int = 32
    hidden_units: int = 25
    head_units: int = 10
    meta: str = "auto"  # step 4's meta-learner: a kind of methods/metalearners.py's SPECS
    # Honest stacking: which protocols steps 4 and 5 run, k for cv, raw input in the meta-learner,
    # members of different widths and depths.
    protocols: tuple[str, ...] = PROTOCOLS
    folds: int = 5
    passthrough: bool = False
    diverse: bool = False
    # Data: make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0, random_state=2),
    # first 100 rows train, last 1,000 test.
    n_samples: int = 1100
    n_train: int = 100
    centers: int = 3
    n_features: int = 2
    cluster_std: float = 2.0
    data_random_state: int = 2
    # Your own data instead (--data FILE.csv --target COLUMN): see tables.py. The split is seeded
    # by data_random_state; the task is "auto", "classification" or "regression".
    data_file: Path | None = None
    target: str | None = None
    task: str = "auto"
    test_size: float = 0.25
    # How a table is read (data/columns.py): its separator (None: sniffed), columns of integer
    # codes to treat as categories, and columns to leave out.
    sep: str | None = None
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    # Members trained elsewhere (--member-files A.keras B.keras ...), imported by step 3 instead
    # of training stackgen's MLPs: methods/imported.py.
    member_files: tuple[Path, ...] = ()
    # Where data/, models/, figures/ and results/ live.
    workdir: Path = field(default_factory=default_workdir)
    quiet: bool = False
    force: bool = False  # use artifacts whose lineage does not hold, with a warning

    def __post_init__(self) -> None:
        for name in (
            "epochs",
            "meta_epochs",
            "members",
            "batch_size",
            "hidden_units",
            "head_units",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        unknown = [p for p in self.protocols if p not in PROTOCOLS]
        if unknown or not self.protocols:
            raise ValueError(f"protocols must be some of {', '.join(PROTOCOLS)}, got {unknown}")
        if self.members > MAX_MEMBERS:
            raise ValueError(f"--members must be at most {MAX_MEMBERS}, got {self.members}")
        if not 0 <= self.seed <= MAX_SEED - HEAD_SEED_OFFSET:
            raise ValueError(
                f"--seed must be between 0 and {MAX_SEED - HEAD_SEED_OFFSET}, got {self.seed}: "
                f"the members and the head use seeds up to {HEAD_SEED_OFFSET} above it, and "
                "every seed must stay below 2**32"
            )
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2, got {self.folds}")
        if self.data_file is not None and Path(self.data_file).suffix == ".npz":
            if self.target is not None:
                raise ValueError(
                    "--target names a CSV table's column; an .npz holds its labels as "
                    "train_y and test_y: drop --target"
                )
        elif (self.data_file is None) != (self.target is None):
            raise ValueError("--data FILE.csv and --target COLUMN go together")
        if self.task not in ("auto", "classification", "regression"):
            raise ValueError(f"task must be auto, classification or regression, got {self.task!r}")
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be between 0 and 1, got {self.test_size}")
        if not 0 < self.n_train < self.n_samples:
            raise ValueError(f"n_train must be between 1 and n_samples - 1, got {self.n_train}")

    def member_seed(self, index: int) -> int:
        """Seed of member ``index`` (1-based): its initial weights and its shuffling."""
        return self.seed + index

    def member_architecture(self, index: int) -> tuple[int, ...]:
        """Hidden-layer widths of member ``index`` (1-based)."""
        if self.diverse:
            return DIVERSE_ARCHITECTURES[(index - 1) % len(DIVERSE_ARCHITECTURES)]
        return (self.hidden_units,)

    def sized(self, n_features: int, n_outputs: int) -> Config:
        """These settings with the networks widened for wider data: members get at least
        2 x (features + outputs) hidden units, the head at least 2 x outputs plus 4. The
        tutorial's problem (2 features, 3 classes) keeps its 25 and 10."""
        return replace(
            self,
            hidden_units=max(self.hidden_units, 2 * (n_features + n_outputs)),
            head_units=self.head_width(n_outputs),
        )

    def head_width(self, n_outputs: int) -> int:
        """The integrated network's hidden units for ``n_outputs`` classes (1: regression)."""
        return max(self.head_units, 2 * n_outputs + 4)

    @property
    def head_seed(self) -> int:
        return self.seed + HEAD_SEED_OFFSET

    def head(self) -> dict:
        """The integrated network's head settings, as ``integrated.fit_head`` takes them."""
        return {
            "seed": self.head_seed,
            "epochs": self.meta_epochs,
            "batch_size": self.batch_size,
            "hidden": self.head_units,
        }

    def protocol_objects(self) -> list[protocols.Protocol]:
        """The protocols asked for (``--protocol``), as the objects the steps run."""
        return [protocols.named(name, self.seed, self.folds) for name in self.protocols]

    @property
    def needs_oof(self) -> bool:
        """Whether a protocol asked for fits on out-of-fold predictions (cv)."""
        return any(p.needs_oof for p in self.protocol_objects())

    def data_params(self) -> dict:
        """The make_blobs arguments and the split, as saved beside the data."""
        return {
            "n_samples": self.n_samples,
            "centers": self.centers,
            "n_features": self.n_features,
            "cluster_std": self.cluster_std,
            "random_state": self.data_random_state,
            "n_train": self.n_train,
        }

    def workdir_by_default(self) -> Path:
        """Where this run's files go without --workdir: runs/<file name>/ for your own data."""
        root = default_workdir()
        return root if self.data_file is None else root / "runs" / Path(self.data_file).stem

    def identity_flags(self, absolute: bool = False) -> str:
        """The flags that name this run's work dir, data and protocols (" --workdir W --data F
        --target T --protocol holdout"), for every command a hint tells the user to paste:
        without them it would rebuild the repository root's run instead of theirs. Paths are
        relative to the current directory when inside it, unless ``absolute``."""
        shown = (lambda p: str(Path(p).resolve())) if absolute else shown_path
        d = Config.__dataclass_fields__
        flags: list[tuple[str, str]] = []
        if self.data_file is not None:
            flags.append(("--data", shown(Path(self.data_file))))
            if self.target is not None:
                flags.append(("--target", str(self.target)))
            if self.task != d["task"].default:
                flags.append(("--task", self.task))
            if self.test_size != d["test_size"].default:
                flags.append(("--test-size", repr(self.test_size)))
            if self.sep is not None:
                flags.append(("--sep", self.sep))
            flags += [("--categorical", name) for name in self.categorical]
            flags += [("--drop", name) for name in self.drop]
        if len(self.protocols) == 1:
            flags.append(("--protocol", self.protocols[0]))
        if self.folds != d["folds"].default and "cv" in self.protocols:
            flags.append(("--folds", str(self.folds)))
        if Path(self.workdir).resolve() != self.workdir_by_default().resolve():
            flags.append(("--workdir", shown(Path(self.workdir))))
        # A value that starts with "-" must be attached, or argparse takes it for a flag.
        return "".join(
            f" {shlex.quote(f'{flag}={value}')}"
            if value.startswith("-")
            else f" {flag} {shlex.quote(value)}"
            for flag, value in flags
        )

    def as_dict(self) -> dict:
        d = asdict(self)
        d["workdir"] = str(self.workdir)
        d["data_file"] = None if self.data_file is None else str(self.data_file)
        d["protocols"] = list(self.protocols)
        d["member_files"] = [str(f) for f in self.member_files]
        return d


def shown_path(path: Path) -> str:
    """A path as a pasted command should carry it: relative to the current directory when
    inside it, else absolute."""
    path = path.resolve()
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)
