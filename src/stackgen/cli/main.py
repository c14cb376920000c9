"""``python -m stackgen`` (run, predict, doctor) and what each numbered script's ``main`` does.

Every script and ``python -m stackgen run`` accept the same flags (``cli/flags.py``). A user
error (a missing or unreadable artifact, an unwritable work dir, a backend that is not
installed) is printed as one ``error:`` line on stderr with a non-zero exit status, never as a
traceback (``cli/console.py``).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from stackgen import registry
from stackgen.cli.console import guarded
from stackgen.cli.flags import (
    Parser,
    add_common_flags,
    config_from_args,
    make_parser,
    positive_int,
    workdir_of,
)
from stackgen.config import PROTOCOLS, Config
from stackgen.pipeline import warn_if_long
from stackgen.step_io import step_progress
from stackgen.trust.safe_load import member_file_config
from stackgen.workdir import lineage, settings
from stackgen.workdir.lock import workdir_lock
from stackgen.workdir.paths import Paths, made_with, require
from stackgen.workdir.split_files import check_same_data, load_split, make_split

# What each command runs; imported only once the command line is parsed and stderr filtered,
# because most of them load Keras.
COMMANDS = {
    "run": "stackgen.pipeline",
    "predict": "stackgen.cli.predict",
    "doctor": "stackgen.cli.doctor",
}


def run_script(module_name: str, argv: list[str] | None, doc: str | None) -> dict:
    """What each numbered script's ``main`` does: parse the shared flags (and the step's own,
    from its module's ``add_flags``, passed to its ``run`` as keyword arguments), run one step.

    The files the registry says the step reads are checked first, so a missing one is one line
    at once; the step's module is imported after that, with stderr filtered, as it may load Keras.
    """
    step = registry.of_module(module_name)
    prog = Path(sys.argv[0]).name if argv is None else Path(step.script).name
    parser = make_parser(prog, doc)
    shared = {action.dest for action in parser._actions}
    known, unknown = parser.parse_known_args(argv)
    if known.member_files and step.number != 3:
        parser.error(f"--member-files applies to step 3 ({registry.step(3).script}) and to run")
    if not unknown:  # else the step's own flags, or a mistake: its module tells which, below
        guarded(lambda: _require_inputs(step, config_from_args(known)))
    module = guarded(lambda: importlib.import_module(module_name))
    if hasattr(module, "add_flags"):
        module.add_flags(parser)
    args = parser.parse_args(argv)
    extras = {k: v for k, v in vars(args).items() if k not in shared}
    cfg = config_from_args(args)
    guarded(lambda: _require_inputs(step, cfg))
    if step.trains:
        warn_if_long(cfg)

    def run_step() -> dict:
        with step_progress(cfg, step.number):
            return module.run(cfg, **extras)

    return guarded(lambda: _locked(cfg, run_step))


def _one_or_many(given: list[str] | None) -> str | list[str] | None:
    """``predict --input``: one file as its path; several (image files) as the list."""
    return given if given is None or len(given) > 1 else given[0]


def _require_inputs(step: registry.Step, cfg: Config) -> None:
    """Every file ``step`` always reads is there, or one line naming the step that makes it;
    and the protocols it is asked for can be run on the data step 1 made."""
    paths = Paths.of(cfg)
    for pattern in step.required_reads:
        require(paths / pattern, paths)
    if step.number > 1 and paths.data.is_file():
        if cfg.data_file is not None:
            check_same_data(cfg)  # told --data: is it step 1's? (before judging settings by it)
        if step.uses_protocols:
            settings.check(cfg, load_split(paths))


def _locked(cfg: Config, action) -> dict:
    with workdir_lock(cfg.workdir):
        lineage.load_store(Paths.of(cfg))  # unreadable records: one line before any step
        if not cfg.quiet:
            print(f"work dir: {shown_workdir(cfg.workdir)} (every path written below is in it)")
        return action()


def shown_workdir(workdir: Path) -> str:
    """The work dir as a user would type it from here: relative to the current directory when
    inside it (``runs/digits``, or ``.``), else in full."""
    try:
        return Path(workdir).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(workdir)


def main(argv: list[str] | None = None) -> object:
    parser = Parser(
        prog="python -m stackgen",
        description="Stacked generalization of Keras MLPs, after the classic tutorial.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_command = commands.add_parser(
        "run", help="run steps 1-9 and the report (11) in order, in one process"
    )
    add_common_flags(run_command)
    run_command.add_argument(
        "--upto",
        type=positive_int,
        default=max(s.number for s in registry.in_run()),
        metavar="N",
        help="stop after step N (5: the tutorial's five steps only; default: all)",
    )
    predict_command = commands.add_parser(
        "predict", help="classify points (CSV) with the saved members and both stacks"
    )
    predict_command.add_argument(
        "--input",
        default=None,
        nargs="+",
        metavar="FILE",
        help="CSV file of points, one per row (default: standard input); or FILE.npz with "
        "an array X (X_<name> for each input) for members that read arrays; or images: a "
        "folder of them, or image files",
    )
    predict_command.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=None,
        help="whose stacks to use: step 4's and 5's files for this protocol (default: the "
        "most honest step 4 fit: cv, else holdout, else the tutorial's)",
    )
    predict_command.add_argument(
        "--id",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a column of the input to print first on each row, as is (repeat for several; "
        "default: the table's columns step 1 dropped as an identifier or a row number, else "
        "a point number)",
    )
    predict_command.add_argument(
        "--long",
        action="store_true",
        help="one row per point and model (the members, the stack, the integrated network) "
        "instead of one row per point",
    )
    predict_command.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the trained artifacts live (default: the repository root)",
    )
    doctor_command = commands.add_parser(
        "doctor", help="check the environment and the work dir's artifacts; change nothing"
    )
    doctor_command.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="the work dir to check (default: the repository root)",
    )
    args = parser.parse_args(argv)
    if args.command == "doctor":
        # doctor reports a backend that is not installed; it does not refuse to start.
        doctor = guarded(lambda: importlib.import_module(COMMANDS["doctor"]), backend=False)
        workdir = workdir_of(args)
        problems = guarded(lambda: doctor.doctor(workdir), backend=False)
        raise SystemExit(1 if problems else 0)
    if args.command == "run":
        cfg = config_from_args(args)
        # A member file that is missing, or that Keras cannot load safely, is one line before
        # step 1 writes anything: the last run's stack stays servable.
        guarded(lambda: _members_load(cfg))
        pipeline = guarded(lambda: importlib.import_module(COMMANDS["run"]))
        return guarded(lambda: _locked(cfg, lambda: pipeline.run_all(cfg, args.upto)))
    if args.command == "predict":
        cfg = made_with(workdir_of(args))
        predict = guarded(lambda: importlib.import_module(COMMANDS["predict"]))
        return guarded(
            lambda: predict.predict(
                cfg,
                _one_or_many(args.input),
                args.protocol,
                tuple(dict.fromkeys(args.id)),
                args.long,
            )
        )
    parser.error(f"unknown command {args.command}")
    return None


def _members_load(cfg: Config) -> None:
    """Every --member-files file read (its configuration; with Keras, the model), then checked
    as step 3 checks them against the split step 1 is about to make, made here in memory: a
    member that cannot be stacked on this data stops ``run`` before step 1 writes anything."""
    for f in cfg.member_files:
        member_file_config(f, f"--member-files {f.name}")  # no Keras yet: each file's layers
    if cfg.member_files:  # step 3's module loads Keras, and each member with it
        registry.step(3).module().imported(make_split(cfg), cfg)
