"""The tutorial's settings, in one frozen object that flags override.

Every random thing in the pipeline derives from ``Config.seed``: the single MLP uses ``seed``,
member ``i`` uses ``seed + i`` (i = 1..N), the integrated network's head uses
``seed + HEAD_SEED_OFFSET``. The data set is fixed by ``data_random_state`` as in the tutorial,
so changing ``--seed`` changes the networks, never the data.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

from stackgen.methods import protocols
from stackgen.methods.metalearners import KINDS, NO_PASSTHROUGH, WITH_RAW
from stackgen.methods.seeds import HEAD_SEED_OFFSET, MAX_MEMBERS, MAX_SEED

PROTOCOLS = protocols.NAMES
# --diverse: member i gets the (i-1)-th of these hidden-layer stacks, cycling.
DIVERSE_ARCHITECTURES = ((10,), (25,), (50,), (25, 25), (25, 25, 25))
TASKS = ("auto", "classification", "regression")


def default_workdir() -> Path:
    """The repository root when running from a checkout, else the current directory."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


# --- how a setting's value is read and checked: once, for the flags and for Config alike ------


def whole(text) -> int:
    """A whole number, from a flag's text."""
    try:
        return int(text)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {text!r}") from None


def number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {text!r}") from None


def at_least(low: int) -> Callable[[object], str | None]:
    """A check: what is wrong with a value below ``low``, or None."""
    return lambda value: f"must be at least {low}, got {value}" if value < low else None


def fraction(value) -> str | None:
    return None if 0 < value < 1 else f"must be between 0 and 1, got {value}"


@dataclass(frozen=True)
class Flag:
    """How a setting is given on the command line; ``cli/flags.py`` makes the parser from these.
    ``read`` turns the flag's text into a value (``check`` then says what is wrong with it);
    ``given`` turns what argparse collected into the setting's value."""

    name: str
    help: str
    read: Callable[[str], object] | None = None
    choices: tuple | None = None
    metavar: str | None = None
    many: bool = False  # takes several values, and the flag may be given again
    switch: bool = False  # on when given
    default: object = None  # the flag's default, where it is not the setting's (--protocol)
    given: Callable[[object], object] | None = None


def setting(default=MISSING, *, flag: Flag | None = None, check=None, default_factory=MISSING):
    """A Config field, with its flag and its check (a function: value -> problem or None)."""
    metadata = {"flag": flag, "check": check}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _protocols(value: str) -> tuple[str, ...]:
    return PROTOCOLS if value == "all" else (value,)


def _resolved(path: Path | None) -> Path | None:
    return None if path is None else path.expanduser().resolve()


def _names(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))  # each once, in the order given


@dataclass(frozen=True)
class Config:
    # Networks and training (tutorial: Dense(25, relu) -> Dense(3, softmax), Adam, batch 32).
    seed: int = setting(
        1,
        flag=Flag(
            "--seed",
            "seed for every network's weights and shuffling (default: %(default)s)",
            read=whole,
        ),
    )
    epochs: int = setting(
        500,
        flag=Flag(
            "--epochs", "epochs for the single MLP and each member (default: %(default)s)", whole
        ),
        check=at_least(1),
    )
    meta_epochs: int = setting(
        300,
        flag=Flag(
            "--meta-epochs",
            "epochs for the integrated network's head (default: %(default)s)",
            whole,
        ),
        check=at_least(1),
    )
    fine_tune_epochs: int = setting(
        100,
        flag=Flag(
            "--fine-tune-epochs",
            "step 8: epochs for which the whole integrated network is trained gently after its "
            "head (default: %(default)s)",
            whole,
        ),
        check=at_least(1),
    )
    early_stopping: int | None = setting(
        None,
        flag=Flag(
            "--early-stopping",
            "step 3: stop each member's training (and each fold copy's) once its validation "
            "loss has not improved for PATIENCE epochs, validated on 20%% of its own training "
            "rows (never the rows it predicts out of fold, nor the test rows); the final "
            "members train for the median of their folds' chosen epochs",
            whole,
            metavar="PATIENCE",
        ),
        check=lambda v: None if v is None or v >= 1 else f"must be at least 1, got {v}",
    )
    # Where steps 3 and 7 (and run) train, and where step 10's seeds run: here, or on a Dask
    # cluster (cluster.py). The weights and numbers are the same either way.
    scheduler: str | None = setting(
        None,
        flag=Flag(
            "--scheduler",
            "steps 3 and 7 and run: train the members and the cv protocol's fold copies on the "
            "Dask cluster at ADDRESS (tcp://host:8786), or on a local cluster of one process "
            "worker per core with 'local', to the same weights as here; step 10: run its seeds "
            "there, on --jobs local workers with 'local' (needs pip install 'stackgen[cluster]')",
            metavar="ADDRESS",
        ),
    )
    members: int = setting(
        5,
        flag=Flag("--members", "number of ensemble members (default: %(default)s)", whole),
        check=at_least(1),
    )
    batch_size: int = setting(32, check=at_least(1))
    hidden_units: int = setting(25, check=at_least(1))
    head_units: int = setting(10, check=at_least(1))
    # Step 4's meta-learner: a kind of methods/metalearners.py's SPECS.
    meta: str = setting(
        "auto",
        flag=Flag(
            "--meta",
            "step 4's meta-learner: logistic regression, modern multinomial or the "
            "tutorial-era one-vs-rest (ovr), or an alternative; for regression linear or nnls "
            "(default: %(default)s, multinomial for classes and linear for regression)",
            choices=KINDS,
        ),
    )
    # Your own data instead (--data FILE.csv --target COLUMN): workdir/table_files.py and
    # array_files.py. The split is seeded by data_random_state.
    data_file: Path | None = setting(
        None,
        flag=Flag(
            "--data",
            "step 1: your own data instead of the blobs: a CSV table with a header row (with "
            "--target), or an .npz of arrays train_X, train_y, test_X, test_y (X of any shape; "
            "several inputs as test_X_<name>; docs/own-members.md), or a folder of images, one "
            "folder per class (docs/own-members.md); the work dir then defaults to "
            "runs/<file name>/",
            read=Path,
            metavar="FILE",
            given=_resolved,
        ),
    )
    # Members trained elsewhere (--member-files A.keras B.keras ...), imported by step 3 instead
    # of training stackgen's MLPs: workdir/own_members.py.
    member_files: tuple[Path, ...] = setting(
        (),
        flag=Flag(
            "--member-files",
            "step 3 and run: stack these trained Keras models (.keras, or .h5 as the tutorial "
            "saves them) instead of training MLPs "
            "(loaded safely, renamed member_1..N, outputs made class probabilities)",
            read=Path,
            metavar="FILE.keras",
            many=True,
            default=[],
            given=lambda files: tuple(_resolved(f) for f in files),
        ),
    )
    # Members trained anywhere, as their saved predictions (--predictions FILE.npz): run stacks
    # them instead of steps 1-11 (stack_predictions.py).
    predictions_file: Path | None = setting(
        None,
        flag=Flag(
            "--predictions",
            "run: stack members trained anywhere (PyTorch, XGBoost, ...) from an .npz of their "
            "predictions: oof [train rows, members, outputs], train_y, test, test_y, and "
            "optionally members, folds, groups (docs/own-members.md); no networks are trained",
            read=Path,
            metavar="FILE.npz",
            given=_resolved,
        ),
    )
    target: str | None = setting(
        None, flag=Flag("--target", "with --data: the column to predict", metavar="COLUMN")
    )
    task: str = setting(
        "auto",
        flag=Flag(
            "--task",
            "with --data: auto (default) is regression for a numeric target with more than "
            "20 distinct values or any fractional value, else classification",
            choices=TASKS,
        ),
        check=lambda v: None if v in TASKS else f"must be one of {', '.join(TASKS)}, got {v!r}",
    )
    test_size: float = setting(
        0.25,
        flag=Flag(
            "--test-size",
            "with --data: the fraction of rows held out for testing, stratified by class "
            "(default: %(default)s)",
            read=number,
            metavar="F",
        ),
        check=fraction,
    )
    # How a table is read (data/columns.py): its separator (None: sniffed), columns of integer
    # codes to treat as categories, and columns to leave out.
    sep: str | None = setting(
        None,
        flag=Flag(
            "--sep",
            "with --data FILE.csv: the separator, one of , ; tab | (default: sniffed from "
            "the first rows)",
            choices=(",", ";", "tab", "|"),
            metavar="SEP",
        ),
    )
    categorical: tuple[str, ...] = setting(
        (),
        flag=Flag(
            "--categorical",
            "with --data: columns of integer codes to one-hot encode as categories (text "
            "columns are categories already)",
            metavar="COLUMN",
            many=True,
            default=[],
            given=_names,
        ),
    )
    drop: tuple[str, ...] = setting(
        (),
        flag=Flag(
            "--drop",
            "with --data: columns to leave out (identifiers and constant columns are left "
            "out without it, and step 1 says so)",
            metavar="COLUMN",
            many=True,
            default=[],
            given=_names,
        ),
    )
    # What the protocols must respect of a table's rows (workdir/table_files.py's Roles): none of
    # these columns is a feature.
    groups: str | None = setting(
        None,
        flag=Flag(
            "--groups",
            "with --data FILE.csv: a column of group labels (a patient, a site): the test rows, "
            "the holdout halves and the cv folds keep every group on one side",
            metavar="COLUMN",
        ),
    )
    time: str | None = setting(
        None,
        flag=Flag(
            "--time",
            "with --data FILE.csv: a column of times (numbers or dates): the test rows are the "
            "latest, holdout fits on the earlier half, cv's folds run forward in time",
            metavar="COLUMN",
        ),
    )
    weights: str | None = setting(
        None,
        flag=Flag(
            "--weights",
            "with --data FILE.csv: a column of row weights, used in every member's loss, the "
            "meta-learners and every score",
            metavar="COLUMN",
        ),
    )
    # Honest stacking: which protocols steps 4 and 5 run, k for cv, raw input in the
    # meta-learner, members of different widths and depths.
    protocols: tuple[str, ...] = setting(
        PROTOCOLS,
        flag=Flag(
            "--protocol",
            "which rows steps 4 and 5 fit their meta-learners on: the tutorial's (the test "
            "set), holdout, cv, or all three (default: all)",
            choices=(*PROTOCOLS, "all"),
            default="all",
            given=_protocols,
        ),
    )
    folds: int = setting(
        5,
        flag=Flag(
            "--folds",
            "k for the cv protocol's out-of-fold predictions (default: %(default)s)",
            whole,
        ),
        check=at_least(2),
    )
    passthrough: bool = setting(
        False,
        flag=Flag("--passthrough", "the meta-learners also see the raw features", switch=True),
    )
    force: bool = setting(  # use artifacts whose lineage does not hold, with a warning
        False,
        flag=Flag(
            "--force",
            "use inputs whose lineage does not hold (changed since they were made), with a warning",
            switch=True,
        ),
    )
    diverse: bool = setting(
        False,
        flag=Flag(
            "--diverse",
            "members of different widths and depths instead of identical ones",
            switch=True,
        ),
    )
    # Where data/, models/, figures/ and results/ live.
    workdir: Path = setting(
        default_factory=default_workdir,
        flag=Flag(
            "--workdir",
            "where data/, models/, figures/ and results/ live (default: the repository root)",
            read=Path,
        ),
    )
    quiet: bool = setting(False, flag=Flag("--quiet", "print only the result lines", switch=True))
    # Progress lines on stderr (stackgen/progress.py): on a terminal unless --quiet; elsewhere
    # (a log file, CI) only when asked.
    progress: bool = setting(
        False,
        flag=Flag(
            "--progress",
            "show progress lines on stderr even when it is not a terminal (on a terminal they "
            "show unless --quiet)",
            switch=True,
        ),
    )
    # Data: make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0, random_state=2),
    # first 100 rows train, last 1,000 test.
    n_samples: int = 1100
    n_train: int = 100
    centers: int = 3
    n_features: int = 2
    cluster_std: float = 2.0
    data_random_state: int = 2

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What is wrong with these settings together, in the flags' words, or None: each
        setting's own check, then the ones that involve several."""
        for f in fields(self):
            check = f.metadata.get("check")
            said = check and check(getattr(self, f.name))
            if said:
                return f"{f.name} {said}"
        d = Config.__dataclass_fields__
        if self.predictions_file is not None:
            clash = next(
                (
                    flag
                    for flag, given in (
                        ("--data", self.data_file is not None),
                        ("--member-files", bool(self.member_files)),
                        ("--passthrough", self.passthrough),
                        ("--diverse", self.diverse),
                        ("--early-stopping", self.early_stopping is not None),
                    )
                    if given
                ),
                None,
            )
            if clash:
                return (
                    f"{clash} does not apply to --predictions: the file holds the members' "
                    f"predictions, and no network is trained or read; drop {clash}"
                )
            if Path(self.predictions_file).suffix != ".npz":
                return "--predictions takes an .npz file (docs/own-members.md)"
        folder = self.data_file is not None and Path(self.data_file).is_dir()
        if folder and self.target is not None:
            return (
                "--target names a CSV table's column; a folder of images takes its classes "
                "from its class folders' names: drop --target"
            )
        if folder and self.task not in (d["task"].default, "classification"):
            return "a folder of images is a classification, one folder per class: drop --task"
        npz = folder or (self.data_file is not None and Path(self.data_file).suffix == ".npz")
        if npz and self.target is not None:
            return (
                "--target names a CSV table's column; an .npz holds its labels as train_y and "
                "test_y: drop --target"
            )
        if not npz and (self.data_file is None) != (self.target is None):
            return "--data FILE.csv and --target COLUMN go together"
        if self.data_file is None and (
            self.task != d["task"].default or self.test_size != d["test_size"].default
        ):
            return "--task and --test-size apply to your own data: add --data FILE.csv"
        if npz and not folder and self.test_size != d["test_size"].default:
            return "--test-size applies to a CSV table; an .npz holds its own train and test arrays"
        table_flags = [
            flag
            for flag, given in (
                ("--sep", self.sep is not None),
                ("--categorical", self.categorical),
                ("--drop", self.drop),
                ("--groups", self.groups is not None),
                ("--time", self.time is not None),
                ("--weights", self.weights is not None),
            )
            if given
        ]
        if table_flags and folder:
            return f"{table_flags[0]} applies to a table's columns, not to a folder of images"
        if table_flags and npz and table_flags[0] in ("--groups", "--weights"):
            kind = table_flags[0][2:]
            return (
                f"{table_flags[0]} names a table's column; an .npz gives each row's {kind[:-1]} "
                f"as arrays train_{kind} and test_{kind}: drop {table_flags[0]}"
            )
        if table_flags and (self.data_file is None or npz):
            return (
                f"{table_flags[0]} applies to a table's columns: give --data FILE.csv --target "
                "COLUMN"
            )
        if self.early_stopping is not None and self.member_files:
            return (
                "--early-stopping applies to the MLPs stackgen trains, not to --member-files: "
                "drop one of them"
            )
        if self.early_stopping is not None and self.weights is not None:
            return (
                "--early-stopping with --weights is not supported yet (the validation loss is "
                "unweighted): drop one of them"
            )
        if self.passthrough and self.meta in NO_PASSTHROUGH:
            return (
                f"--meta {self.meta} only weights the members' outputs and cannot use the raw "
                "features: drop --passthrough, or pick a meta-learner that takes extra columns "
                f"({', '.join(WITH_RAW)})"
            )
        unknown = [p for p in self.protocols if p not in PROTOCOLS]
        if unknown or not self.protocols:
            return f"protocols must be some of {', '.join(PROTOCOLS)}, got {unknown}"
        if self.members > MAX_MEMBERS:
            return f"--members must be at most {MAX_MEMBERS}, got {self.members}"
        if not 0 <= self.seed <= MAX_SEED - HEAD_SEED_OFFSET:
            return (
                f"--seed must be between 0 and {MAX_SEED - HEAD_SEED_OFFSET}, got {self.seed}: "
                f"the members and the head use seeds up to {HEAD_SEED_OFFSET} above it, and "
                "every seed must stay below 2**32"
            )
        if not 0 < self.n_train < self.n_samples:
            return f"n_train must be between 1 and n_samples - 1, got {self.n_train}"
        return None

    def member_seed(self, index: int) -> int:
        """Seed of member ``index`` (1-based): its initial weights and its shuffling."""
        return self.seed + index

    def member_architecture(self, index: int) -> tuple[int, ...]:
        """Hidden-layer widths of member ``index`` (1-based)."""
        if self.diverse:
            return DIVERSE_ARCHITECTURES[(index - 1) % len(DIVERSE_ARCHITECTURES)]
        return (self.hidden_units,)

    def sized(self, n_features: int, n_classes: int) -> Config:
        """These settings with the members widened for wider data: at least 2 x (features +
        classes) hidden units. The tutorial's problem (2 features, 3 classes) keeps its 25. (The
        head is widened where it is built: ``integrated.head_width``.)"""
        return replace(self, hidden_units=max(self.hidden_units, 2 * (n_features + n_classes)))

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
        """Where this run's files go without --workdir: runs/<file name>/ for your own data or
        predictions."""
        root = default_workdir()
        given = self.data_file if self.data_file is not None else self.predictions_file
        return root if given is None else root / "runs" / Path(given).stem

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
            flags += [
                (flag, value)
                for flag, value in (
                    ("--groups", self.groups),
                    ("--time", self.time),
                    ("--weights", self.weights),
                )
                if value is not None
            ]
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

    def member_flags(self, absolute: bool = False) -> str:
        """The flags that made step 3's members, for the hints that run step 3 (its script, or
        ``run``): pasted without them, step 3 would train other members in their place. Members
        trained elsewhere: " --epochs 50 --member-files a.keras b.keras" (``--epochs`` for the cv
        protocol's fold copies); stackgen's own MLPs: their ``--members``, ``--epochs``,
        ``--early-stopping`` and ``--diverse``. Each, and ``--seed``, only where it is not the
        default. The files' paths as in ``identity_flags``."""
        d = Config.__dataclass_fields__
        flags = []
        if self.seed != d["seed"].default:
            flags.append(f" --seed {self.seed}")
        if not self.member_files and self.members != d["members"].default:
            flags.append(f" --members {self.members}")
        if self.epochs != d["epochs"].default:
            flags.append(f" --epochs {self.epochs}")
        if self.early_stopping is not None:
            flags.append(f" --early-stopping {self.early_stopping}")
        if self.member_files:
            shown = (lambda p: str(p.resolve())) if absolute else shown_path
            files = " ".join(shlex.quote(shown(Path(p))) for p in self.member_files)
            flags.append(f" --member-files {files}")
        elif self.diverse:
            flags.append(" --diverse")
        return "".join(flags)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["workdir"] = str(self.workdir)
        d["data_file"] = None if self.data_file is None else str(self.data_file)
        d["predictions_file"] = (
            None if self.predictions_file is None else str(self.predictions_file)
        )
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
