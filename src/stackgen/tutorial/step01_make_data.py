"""Step 1: the data set (the tutorial's blobs, or your table) and its scatter plot.

Script: scripts/01_make_data.py. No Keras here: this step runs without paying for its import.
"""

from __future__ import annotations

import numpy as np

from stackgen import plots
from stackgen.config import Config
from stackgen.data import columns
from stackgen.data.split import ArrayFile, TableFile
from stackgen.step_io import Printer
from stackgen.trust import skops_files
from stackgen.workdir import settings
from stackgen.workdir.split_files import make_split, save_split

NUMBER = 1


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = make_split(cfg)
    settings.check(cfg, split)  # folds, test size and protocols the later steps will ask for
    shapes = _shapes(split)
    out.result(f"{shapes['train']} {shapes['test']}")
    if isinstance(split.source, TableFile | ArrayFile):
        out.result(f"data: {split.describe()}")
        out.result(f"task: {split.task.name} ({split.params['task_reason']})")
        if split.task.name == "classification":
            counts = np.bincount(
                np.concatenate([split.train_y, split.test_y]), minlength=split.n_classes
            )
            out.result(classes_line(split.class_names, counts))
        for line in row_roles(split):
            out.result(line)
    outputs = []
    if isinstance(split.source, TableFile):
        p = split.params
        if p["rows_without_target"]:
            out.result(
                f"dropped {p['rows_without_target']} rows whose target {p['target']!r} is missing"
            )
        if p["encoding"] not in ("UTF-8", "Parquet", "JSON"):
            out.result(f"note: read as {p['encoding']} text (not UTF-8)")
        out.result(columns.summary(columns.from_params(p)))
        for line in p["warnings"]:
            out.result(line)
        out.info(
            f"columns encoded into {split.n_features} inputs by a transformer fit on the "
            f"{len(split.train_y)} training rows only; {len(split.test_y)} rows held out for "
            "testing"
        )
        # The transformer before the split: cut short between the two, a new transformer beside
        # the old split is refused by lineage, never served with it.
        outputs.append(skops_files.save(split.preprocessor, paths.preprocessor))
    outputs.insert(0, save_split(split, paths.data))
    images = split.params.get("images")
    if images:
        height, width, channels = images["shape"]
        resized = f"; {images['resized']} resized to it" if images["resized"] else ""
        out.result(
            f"images: {images['files']} files decoded to {height}x{width}x{channels} pixel "
            f"values 0-255{resized}; the file list split by class, "
            f"{len(split.test_y)} test files (--test-size)"
        )
    elif isinstance(split.source, ArrayFile):
        out.info("inputs passed to the members as they are; the split is the file's own")
    if isinstance(split.source, ArrayFile):
        if not split.has_train:
            out.result(
                "note: no train arrays: the cv protocol and stackgen's own MLPs (steps 2, 3 "
                "without --member-files, 7) need them and will be skipped"
            )
        shared = split.params.get("shared_rows", 0)
        if shared:
            out.result(
                f"warning: {shared} of the {len(split.test_y)} test rows also appear in the "
                "train arrays: scores on them are inflated for any member trained on the train "
                "arrays (a leak); remove them from one of the two"
            )
    figure = plots.plot_data(split, paths.figure("scatter.png"))
    if figure is None:  # an earlier data set's scatter, not this one's
        paths.figure("scatter.png").unlink(missing_ok=True)
    outputs += [figure] if figure else []
    out.made(NUMBER, outputs, [])
    return {
        "train_shape": shapes["train"],
        "test_shape": shapes["test"],
        **split.labels(),
    }


SHOWN_CLASSES = 12


def classes_line(names: list[str], counts) -> str:
    """ "classes: a (40), b (38)"; for more than ``SHOWN_CLASSES``, the first ten and how many
    more, with the fewest rows any class has."""
    shown = [f"{n} ({c})" for n, c in zip(names, counts, strict=True)]
    if len(shown) <= SHOWN_CLASSES:
        return "classes: " + ", ".join(shown)
    rarest = int(np.argmin(counts))
    return (
        f"classes: {len(names)}: " + ", ".join(shown[:10]) + f", ... {len(names) - 10} more; "
        f"fewest rows: {names[rarest]} ({counts[rarest]})"
    )


def row_roles(split) -> list[str]:
    """What step 1 says of the rows' groups, time order and weights."""
    p, lines = split.params, []

    def column(name: str) -> str:  # a table's column; an .npz names its arrays
        return f"column {name!r}" if isinstance(split.source, TableFile) else name

    if split.grouped:
        test_groups = np.unique(split.test_groups).size
        lines.append(
            f"groups: {column(p['groups'])}, {p['group_count']} groups; the "
            f"{len(split.test_y)} test rows are {test_groups} of them, and no split of the "
            "protocols puts a group on both sides"
        )
        if p.get("shared_groups"):
            lines.append(
                f"warning: {p['shared_groups']} groups have rows in both the train and the test "
                "arrays: members trained on the train arrays have seen them, and their test "
                "scores are inflated (a leak)"
            )
    if split.ordered:
        lines.append(
            f"time: {column(p['time'])}; rows in time order, the {len(split.test_y)} test rows "
            "the latest; holdout fits on the earlier test rows, cv's folds run forward"
        )
    if split.test_weights is not None:
        lines.append(
            f"weights: {column(p['weights'])}; in every member's loss, every meta-learner and "
            "every score (weighted accuracy or R2)"
        )
    return lines


def _shapes(split) -> dict:
    """Each set's shape, as the tutorial prints it: (100, 2); {name: shape} for several inputs."""
    shapes = {}
    for part, X in (("train", split.train_X), ("test", split.test_X)):
        if isinstance(X, dict):
            shapes[part] = {name: tuple(a.shape) for name, a in X.items()}
        else:
            shapes[part] = tuple(X.shape)
    return shapes
