"""The flags every numbered script and ``python -m stackgen run`` share, and the Config they make.

Each flag is made from the ``Config`` field it sets (``config.Flag``: its name, help, how its
text is read, its choices), and checked by that field's own check, so a setting is described and
checked in one place. A flag that cannot apply (``--task`` without ``--data``, ``--passthrough``
with a meta-learner that only weights members) is refused by ``Config``, in one line, before
anything trains.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import NoReturn

from stackgen.config import Config, at_least, default_workdir, whole

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (the usage summary is in --help)."""

    def error(self, message: str):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def checked(read, check=None):
    """An argparse ``type``: the flag's text read, then checked; either one's problem is the
    usage error argparse prints ("argument --epochs: must be at least 1, got 0")."""

    def parse(text: str):
        try:
            value = read(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        problem = check(value) if check else None
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = getattr(read, "__name__", "value")
    return parse


# --upto, --seeds and the like: whole numbers of at least 1 that no Config field holds.
positive_int = checked(whole, at_least(1))


def _flagged():
    """(field, its flag) for every Config field a flag sets, in the fields' order."""
    return [(f, f.metadata["flag"]) for f in fields(Config) if f.metadata.get("flag")]


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    for f, flag in _flagged():
        if flag.switch:
            parser.add_argument(flag.name, action="store_true", help=flag.help, dest=f.name)
            continue
        default = flag.default if flag.default is not None else f.default
        if f.name == "workdir":
            default = None  # workdir_of decides: the repository root, or runs/<data>/
        options = {"dest": f.name, "default": default, "help": flag.help}
        if flag.read is not None:
            options["type"] = checked(flag.read, f.metadata.get("check"))
        if flag.choices is not None:
            options["choices"] = flag.choices
        if flag.metavar is not None:
            options["metavar"] = flag.metavar
        if flag.many:
            options |= {"nargs": "+", "action": "extend"}
        parser.add_argument(flag.name, **options)


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
    given = getattr(args, "data_file", None) or getattr(args, "predictions_file", None)
    if workdir is None and given is not None:
        # Your own data gets its own work dir: the blobs' artifacts stay as they are.
        workdir = default_workdir() / "runs" / given.stem
    return (workdir or default_workdir()).expanduser().resolve()


def config_from_args(args: argparse.Namespace) -> Config:
    """The Config the parsed flags make; settings it refuses together are a usage error."""
    settings = {}
    for f, flag in _flagged():
        value = getattr(args, f.name)
        settings[f.name] = flag.given(value) if flag.given else value
    settings["workdir"] = workdir_of(args)
    try:
        return Config(**settings)
    except ValueError as exc:  # settings Config refuses together (the seeds' range, ...)
        _usage(str(exc))


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
