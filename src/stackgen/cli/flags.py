"""The flags every numbered script and ``python -m stackgen run`` share, and the Config they make.

A flag that cannot apply (``--task`` without ``--data``, ``--passthrough`` with a meta-learner
that only weights members) is refused here, in one line, before anything trains.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from stackgen.config import PROTOCOLS, Config, default_workdir
from stackgen.methods.metalearners import KINDS, passthrough_refusal

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (the usage summary is in --help)."""

    def error(self, message: str):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


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
        choices=KINDS,
        default=d["meta"].default,
        help="step 4's meta-learner: logistic regression, modern multinomial or the "
        "tutorial-era one-vs-rest (ovr), or an alternative; for regression linear or nnls "
        "(default: %(default)s, multinomial for classes and linear for regression)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="FILE",
        help="step 1: your own data instead of the blobs: a CSV table with a header row (with "
        "--target), or an .npz of arrays train_X, train_y, test_X, test_y (X of any shape; "
        "several inputs as test_X_<name>; docs/own-members.md); the work dir then defaults to "
        "runs/<file name>/",
    )
    parser.add_argument(
        "--member-files",
        type=Path,
        nargs="+",
        default=(),
        metavar="FILE.keras",
        help="step 3 and run: stack these trained Keras models instead of training MLPs "
        "(loaded safely, renamed member_1..N, outputs made class probabilities)",
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
        "--sep",
        choices=(",", ";", "tab", "|"),
        default=None,
        metavar="SEP",
        help="with --data FILE.csv: the separator, one of , ; tab | (default: sniffed from "
        "the first rows)",
    )
    parser.add_argument(
        "--categorical",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="with --data: columns of integer codes to one-hot encode as categories (text "
        "columns are categories already)",
    )
    parser.add_argument(
        "--drop",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="with --data: columns to leave out (identifiers and constant columns are left "
        "out without it, and step 1 says so)",
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
    parser = Parser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_flags(parser)
    return parser


def workdir_of(args: argparse.Namespace) -> Path:
    workdir = args.workdir
    if workdir is None and getattr(args, "data", None) is not None:
        # Your own data gets its own work dir: the blobs' artifacts stay as they are.
        workdir = default_workdir() / "runs" / args.data.stem
    return (workdir or default_workdir()).expanduser().resolve()


def config_from_args(args: argparse.Namespace) -> Config:
    workdir = workdir_of(args)
    npz = args.data is not None and args.data.suffix == ".npz"
    if not npz and (args.data is None) != (args.target is None):
        _usage("--data FILE.csv and --target COLUMN go together")
    d = Config.__dataclass_fields__
    if args.data is None and (
        args.task != d["task"].default or args.test_size != d["test_size"].default
    ):
        _usage("--task and --test-size apply to your own data: add --data FILE.csv")
    if npz and args.test_size != d["test_size"].default:
        _usage("--test-size applies to a CSV table; an .npz holds its own train and test arrays")
    table_flags = [
        flag
        for flag, given in (
            ("--sep", args.sep is not None),
            ("--categorical", args.categorical),
            ("--drop", args.drop),
        )
        if given
    ]
    if table_flags and (args.data is None or npz):
        _usage(
            f"{table_flags[0]} applies to a table's columns: give --data FILE.csv --target COLUMN"
        )
    if args.passthrough and (why := passthrough_refusal(args.meta)):
        _usage(why)
    try:
        return _config(args, workdir)
    except ValueError as exc:  # settings Config refuses together (the seeds' range, ...)
        _usage(str(exc))


def _config(args: argparse.Namespace, workdir: Path) -> Config:
    return Config(
        data_file=None if args.data is None else args.data.expanduser().resolve(),
        target=args.target,
        task=args.task,
        test_size=args.test_size,
        sep=args.sep,
        categorical=tuple(dict.fromkeys(args.categorical)),
        drop=tuple(dict.fromkeys(args.drop)),
        member_files=tuple(f.expanduser().resolve() for f in args.member_files),
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


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
