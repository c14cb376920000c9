"""Every step in one table: its number, name, script, module, what it reads, what it writes.

The command line, ``python -m stackgen run``, the one-line error hints, lineage, ``doctor``, the
report and the benchmark all read this table; adding a step touches this file and the step's own
module and script. The module of a step is imported only when the step runs, so step 1 runs
without loading Keras.

Paths are relative to the work dir; ``*`` matches any run of characters (``models/member_*.keras``).
``writes`` are the files a finished step always leaves; ``may_write`` the ones it leaves depending
on its settings (protocols, --meta, Graphviz, two-feature data).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from types import ModuleType

from stackgen.data.split import TableFile, kind_of

MEMBERS = ("data/split.npz", "models/members.json", "models/member_*.keras")
OUT_OF_FOLD = "models/oof_predictions.npz"
# Step 1 writes it for a table only: the column transformer predict applies to raw rows.
PREPROCESSOR = "data/preprocess.skops"


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    title: str  # the heading ``run`` prints
    package: str  # "tutorial" or "extensions"
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    may_write: tuple[str, ...] = ()
    trains: bool = True  # whether --epochs can make it slow
    in_run: bool = True  # whether ``python -m stackgen run`` runs it
    uses_protocols: bool = False  # whether --protocol and --folds change what it does

    @property
    def script(self) -> str:
        return f"scripts/{self.number:02d}_{self.name}.py"

    @property
    def module_name(self) -> str:
        return f"stackgen.{self.package}.step{self.number:02d}_{self.name}"

    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)

    def hint(self, flags: str = "", members: str = "") -> str:
        """How a user makes this step's files again; ``flags`` name the work dir and data,
        ``members`` the members trained elsewhere (``Config.member_flags``), which step 3 and
        ``run`` take."""
        own = members if self.number == 3 else ""
        also = f" (or python -m stackgen run{flags}{members})" if self.in_run else ""
        return f"run {self.script}{flags}{own}{also}"

    def rehint(self, flags: str = "", members: str = "") -> str:
        """``hint``, for a file that exists but must be made again: "re-run ..."."""
        hint = self.hint(flags, members)
        return f"re-{hint}" if hint.startswith("run ") else hint

    @property
    def required_reads(self) -> tuple[str, ...]:
        """The files this step reads whatever its settings: one path each, not a pattern, and
        not the out-of-fold predictions (read with the cv protocol only)."""
        return tuple(p for p in self.reads if "*" not in p and p != OUT_OF_FOLD)

    def makes(self, relative: str) -> bool:
        return any(fnmatchcase(relative, p) for p in (*self.writes, *self.may_write))


STEPS: tuple[Step, ...] = (
    Step(
        1,
        "make_data",
        "the data set (the blobs, or your table) and its scatter plot.",
        "tutorial",
        writes=("data/split.npz",),
        may_write=("figures/scatter.png", PREPROCESSOR),
        trains=False,
    ),
    Step(
        2,
        "single_mlp",
        "one MLP, evaluated on the test set every epoch, and its learning curves.",
        "tutorial",
        reads=("data/split.npz",),
        writes=("results/single_mlp.json", "figures/learning_curves.png"),
    ),
    Step(
        3,
        "train_members",
        "N members, each with its own seed, saved as models/member_i.keras.",
        "tutorial",
        reads=("data/split.npz",),
        writes=("models/members.json",),
        may_write=("models/member_*.keras", OUT_OF_FOLD),
        uses_protocols=True,
    ),
    Step(
        4,
        "stack_logistic",
        "each member's test score, then a meta-learner (logistic, or linear for regression).",
        "tutorial",
        reads=(*MEMBERS, OUT_OF_FOLD),
        writes=("results/stack_logistic.json",),
        may_write=(
            "models/meta_learner*.skops",
            "models/meta_learner*.json",
            "figures/confusion.png",
        ),
        trains=False,
        uses_protocols=True,
    ),
    Step(
        5,
        "stack_integrated",
        "the members frozen inside one Keras network whose new head is trained.",
        "tutorial",
        reads=(*MEMBERS, OUT_OF_FOLD),
        writes=("results/stack_integrated.json",),
        may_write=("models/stacked_network*.keras", "figures/stacked_model.png"),
        uses_protocols=True,
    ),
    Step(
        6,
        "compare_methods",
        "every method under every protocol, one line per method.",
        "extensions",
        reads=(*MEMBERS, OUT_OF_FOLD),
        writes=("results/methods.json", "figures/methods.png"),
        uses_protocols=True,
    ),
    Step(
        7,
        "diverse_members",
        "identical members against members of different widths and depths.",
        "extensions",
        reads=("data/split.npz",),
        writes=("results/diverse.json",),
        uses_protocols=True,
    ),
    Step(
        8,
        "fine_tune",
        "the integrated network with its head trained, then everything trained gently.",
        "extensions",
        reads=(*MEMBERS, OUT_OF_FOLD),
        writes=("results/fine_tune.json",),
        uses_protocols=True,
    ),
    Step(
        9,
        "decision_boundaries",
        "each member's, the stacked meta-learner's and the integrated network's regions.",
        "extensions",
        reads=(
            *MEMBERS,
            "results/stack_logistic.json",
            "models/meta_learner*.*",
            "models/stacked_network*.keras",
        ),
        may_write=("figures/decision_boundaries.png",),
        trains=False,
    ),
    Step(
        10,
        "repeat_study",
        "every method under every protocol, for many training seeds.",
        "extensions",
        writes=("results/repeat_study.json", "figures/vary_members.png"),
        may_write=("results/repeat/*/seed_*.json",),
        in_run=False,
    ),
    Step(
        11,
        "report",
        "reports/report.md and reports/report.html from the results so far.",
        "extensions",
        reads=("results/*.json", "figures/*.png"),
        writes=("reports/report.md", "reports/report.html"),
        trains=False,
    ),
)

BY_NUMBER = {step.number: step for step in STEPS}
BY_MODULE = {step.module_name: step for step in STEPS}


def required(step: Step, data_params: dict) -> tuple[str, ...]:
    """What ``step`` must have written for the work dir's data (its split's parameters)."""
    table = step.number == 1 and kind_of(data_params) is TableFile
    return (*step.writes, PREPROCESSOR) if table else step.writes


def step(number: int) -> Step:
    return BY_NUMBER[number]


def of_module(module_name: str) -> Step:
    """The step whose logic lives in ``module_name``."""
    return BY_MODULE[module_name]


def in_run(upto: int = max(BY_NUMBER)) -> tuple[Step, ...]:
    """The steps ``python -m stackgen run --upto N`` runs, in order."""
    return tuple(s for s in STEPS if s.in_run and s.number <= upto)


def maker_of(relative: str) -> Step:
    """The step that writes the work-dir file ``relative`` (posix, relative to the work dir)."""
    for s in STEPS:
        if s.makes(relative):
            return s
    raise KeyError(f"no step writes {relative}")
