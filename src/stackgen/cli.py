"""Command-line entry points: the shared flags, ``python -m stackgen run``, and error handling.

Every script and ``python -m stackgen run`` accept the same flags. A user error (a missing or
unreadable artifact, an unwritable work dir) is printed as one ``error:`` line on stderr with a
non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from stackgen.artifacts import StackgenError, workdir_lock
from stackgen.config import META_KINDS, PROTOCOLS, Config, default_workdir

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _at_least_two(text: str) -> int:
    value = _int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    d = Config.__dataclass_fields__
    parser.add_argument(
        "--seed",
        type=_int,
        default=d["seed"].default,
        help="seed for every network's weights and shuffling (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=d["epochs"].default,
        help="epochs for the single MLP and each member (default: %(default)s)",
    )
    parser.add_argument(
        "--meta-epochs",
        type=positive_int,
        default=d["meta_epochs"].default,
        help="epochs for the integrated network's head (default: %(default)s)",
    )
    parser.add_argument(
        "--members",
        type=positive_int,
        default=d["members"].default,
        help="number of ensemble members (default: %(default)s)",
    )
    parser.add_argument(
        "--meta",
        choices=META_KINDS,
        default=d["meta"].default,
        help="step 4's meta-learner: logistic regression, modern multinomial or the "
        "tutorial-era one-vs-rest (ovr), or an alternative; for regression linear or nnls "
        "(default: %(default)s, multinomial for classes and linear for regression)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="step 1: your own table (CSV with a header row) instead of the blobs; the work "
        "dir then defaults to runs/<file name>/",
    )
    parser.add_argument(
        "--target", default=None, metavar="COLUMN", help="with --data: the column to predict"
    )
    parser.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default=d["task"].default,
        help="with --data: auto (default) is regression for a numeric target with more than "
        "20 distinct values or any fractional value, else classification",
    )
    parser.add_argument(
        "--test-size",
        type=_fraction,
        default=d["test_size"].default,
        metavar="F",
        help="with --data: the fraction of rows held out for testing, stratified by class "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--protocol",
        choices=(*PROTOCOLS, "all"),
        default="all",
        help="which rows steps 4 and 5 fit their meta-learners on: the tutorial's (the test "
        "set), holdout, cv, or all three (default: all)",
    )
    parser.add_argument(
        "--folds",
        type=_at_least_two,
        default=d["folds"].default,
        help="k for the cv protocol's out-of-fold predictions (default: %(default)s)",
    )
    parser.add_argument(
        "--passthrough", action="store_true", help="the meta-learners also see the raw features"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="use inputs whose lineage does not hold (changed since they were made), "
        "with a warning",
    )
    parser.add_argument(
        "--diverse",
        action="store_true",
        help="members of different widths and depths instead of identical ones",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where data/, models/, figures/ and results/ live (default: the repository root)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the result lines")


def make_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_flags(parser)
    return parser


def _workdir(args: argparse.Namespace) -> Path:
    workdir = args.workdir
    if workdir is None and getattr(args, "data", None) is not None:
        # Your own data gets its own work dir: the blobs' artifacts stay as they are.
        workdir = default_workdir() / "runs" / args.data.stem
    return (workdir or default_workdir()).expanduser().resolve()


def config_from_args(args: argparse.Namespace) -> Config:
    workdir = _workdir(args)
    if (args.data is None) != (args.target is None):
        _fail("error: --data FILE.csv and --target COLUMN go together", 2)
    d = Config.__dataclass_fields__
    if args.data is None and (
        args.task != d["task"].default or args.test_size != d["test_size"].default
    ):
        _fail("error: --task and --test-size apply to your own data: add --data FILE.csv", 2)
    return Config(
        data_file=None if args.data is None else args.data.expanduser().resolve(),
        target=args.target,
        task=args.task,
        test_size=args.test_size,
        seed=args.seed,
        epochs=args.epochs,
        meta_epochs=args.meta_epochs,
        members=args.members,
        meta=args.meta,
        protocols=PROTOCOLS if args.protocol == "all" else (args.protocol,),
        folds=args.folds,
        passthrough=args.passthrough,
        diverse=args.diverse,
        workdir=workdir,
        quiet=args.quiet,
        force=args.force,
    )


# TensorFlow's C++ runtime writes the first lines to stderr when it starts, before it reads
# TF_CPP_MIN_LOG_LEVEL; none of these say anything a user of this project can act on.
_BACKEND_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|I0000 [\d:. ]+\d+ (port|cudart_stub|cuda_[a-z_]+)\.cc:\d+\]"
    # Where CUDA libraries are installed but no GPU is usable, TensorFlow says so at start-up.
    rb"|[EW]0000 [\d:. ]+\d+ (cuda_[a-z_]+|gpu_[a-z_]+|dso_loader)\.cc:\d+\]"
    rb"|.*the default Eigen-based implementation if present"
    # Each member is a new model, so a new compiled function: expected, not a problem.
    rb"|WARNING:tensorflow:\d+ out of the last \d+ calls to .* triggered tf\.function retracing)"
)


@contextlib.contextmanager
def _backend_noise_filtered() -> Iterator[None]:
    """Hold what is written to file descriptor 2, then pass it on without the lines above."""
    # A user who set the variable keeps their choice.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held:
                if not _BACKEND_NOISE.match(line):
                    os.write(2, line)


def _fail(message: str, status: int = EXIT_ERROR) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(status)


def guarded(action: Callable[[], object]) -> object:
    """Run ``action``; turn user errors into one stderr line and a non-zero exit."""
    try:
        with _backend_noise_filtered():
            return action()
    except StackgenError as exc:
        _fail(f"error: {exc}")
    except BrokenPipeError:  # the reader went away (predict | head): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    except OSError as exc:  # unwritable or full work dir, and the like
        where = f" {exc.filename}" if exc.filename else " files"
        _fail(f"error: cannot write or read{where}: {exc.strerror or exc}")
    except MemoryError:
        _fail(
            "error: not enough memory for these settings (--epochs, --members, --folds, "
            "--seeds); try smaller ones"
        )
    except KeyboardInterrupt:
        _fail(
            "interrupted: files already in place are intact; no partial file was left",
            EXIT_INTERRUPTED,
        )
    return None


def run_step(
    step: Callable[..., dict],
    argv: list[str] | None,
    doc: str | None,
    extra_flags: Callable[[argparse.ArgumentParser], None] | None = None,
) -> dict:
    """What each numbered script's ``main`` does: parse the shared flags (and the script's own,
    passed to the step as keyword arguments), run one step."""
    prog = Path(sys.argv[0]).name if argv is None else step.__name__
    parser = make_parser(prog, doc)
    shared = {action.dest for action in parser._actions}
    if extra_flags is not None:
        extra_flags(parser)
    args = parser.parse_args(argv)
    extras = {k: v for k, v in vars(args).items() if k not in shared}
    cfg = config_from_args(args)
    if step.__name__ not in NO_TRAINING:
        warn_if_long(cfg)  # before the run, not held back with the backend's stderr
    return guarded(lambda: _locked(step, cfg, **extras))


# Steps that train nothing, so --epochs cannot make them slow.
NO_TRAINING = {"make_data", "decision_boundaries", "write_report"}


def _locked(step: Callable[..., dict], cfg: Config, **extras) -> dict:
    with workdir_lock(cfg.workdir):
        if cfg.data_file is not None and step.__name__ not in ("make_data", "run_all"):
            from stackgen.steps import check_same_data

            check_same_data(cfg)  # a later step told --data: is it step 1's?
        return step(cfg, **extras)


# Roughly what one training step costs here (2 cores): enough to tell minutes from days.
SECONDS_PER_STEP = 0.0005


def warn_if_long(cfg: Config) -> None:
    """A run that would take hours gets a warning with an estimate before it starts."""
    steps_per_epoch = -(-cfg.n_train // cfg.batch_size)
    member_runs = 2 + cfg.folds  # the single MLP, the members, the fold models (side by side)
    head_steps = 3 * cfg.meta_epochs * -(-(cfg.n_samples - cfg.n_train) // cfg.batch_size)
    estimate = SECONDS_PER_STEP * (member_runs * cfg.epochs * steps_per_epoch + head_steps)
    if estimate > 3600:
        print(
            f"warning: --epochs {cfg.epochs} and --meta-epochs {cfg.meta_epochs} mean about "
            f"{estimate / 3600:,.0f} hours of training on a machine like the one this was "
            "measured on (2 cores); press Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> object:
    parser = argparse.ArgumentParser(
        prog="python -m stackgen",
        description="Stacked generalization of Keras MLPs, after the classic tutorial.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run steps 1-9 and the report (11) in order, in one process"
    )
    add_common_flags(run)
    run.add_argument(
        "--upto",
        type=positive_int,
        default=11,
        metavar="N",
        help="stop after step N (5: the tutorial's five steps only; default: all)",
    )
    predict = commands.add_parser(
        "predict", help="classify points (CSV) with the saved members and both stacks"
    )
    predict.add_argument(
        "--input",
        default=None,
        metavar="FILE",
        help="CSV file of points, one per row (default: standard input)",
    )
    predict.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="tutorial",
        help="whose stacks to use: step 4's and 5's files for this protocol (default: %(default)s)",
    )
    predict.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the trained artifacts live (default: the repository root)",
    )
    doctor = commands.add_parser(
        "doctor", help="check the environment and the work dir's artifacts; change nothing"
    )
    doctor.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="the work dir to check (default: the repository root)",
    )
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from stackgen.doctor import doctor as check

        workdir = _workdir(args)
        problems = guarded(lambda: check(workdir))
        raise SystemExit(1 if problems else 0)
    if args.command == "run":
        from stackgen import steps

        cfg = config_from_args(args)
        warn_if_long(cfg)
        return guarded(lambda: _locked(steps.run_all, cfg, upto=args.upto))
    if args.command == "predict":
        from stackgen.predict import predict as predict_points

        cfg = Config(workdir=_workdir(args))
        return guarded(lambda: predict_points(cfg, args.input, args.protocol))
    parser.error(f"unknown command {args.command}")
    return None
