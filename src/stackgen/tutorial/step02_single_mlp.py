"""Step 2: one MLP, evaluated on the test set every epoch, and its learning curves.

Script: scripts/02_single_mlp.py.
"""

from __future__ import annotations

from stackgen import plots, step_skips
from stackgen.config import Config
from stackgen.methods import stats, training
from stackgen.methods.members import tutorial_mlp
from stackgen.step_io import Printer
from stackgen.trust.atomic import write_json
from stackgen.workdir.split_files import load_split

NUMBER = 2


def train_single_mlp(
    split, cfg: Config, seed: int | None = None, name: str = "single_mlp", validate: bool = True
):
    """The tutorial's MLP (widened for wide data), seeded ``seed`` (``cfg.seed``), fit on the
    training rows; with ``validate``, scored on the test rows after every epoch, as the
    tutorial's ``validation_data`` does. The model and its learning curves."""
    seed = cfg.seed if seed is None else seed
    training.seed_everything(seed)
    hidden = cfg.sized(split.n_features, split.n_classes).hidden_units
    model = tutorial_mlp(hidden)((split.n_features,), split.n_outputs, name=name)
    history = training.fit(
        model,
        split.train_X,
        split.targets(split.train_y),
        task=split.task,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=seed,
        validation=(split.test_X, split.targets(split.test_y)) if validate else None,
        sample_weight=split.train_weights,
    )
    return model, history


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = load_split(paths)
    why = step_skips.reason_in(paths.workdir, NUMBER)
    if why:
        out.result(step_skips.said(NUMBER, why))
        return {"skipped": why}
    model, history = train_single_mlp(split, cfg)
    train_out = training.predict_proba(model, split.train_X)
    test_out = training.predict_proba(model, split.test_X)
    r2 = "R2 " if split.task.metric == "r2" else ""
    out.result(
        f"Train: {r2}{split.headline(train_out, split.train_y, 'train')}, "
        f"Test: {r2}{split.headline(test_out, split.test_y, 'test')}"
    )
    test_interval = stats.scored(split.task, test_out, split.test_y, split.test_weights)
    out.result(
        f"test 95% interval: [{test_interval['ci_low']:.3f}, {test_interval['ci_high']:.3f}] "
        f"on {len(split.test_y)} rows"
    )
    result = {
        **split.labels(),
        "test_interval": [test_interval["ci_low"], test_interval["ci_high"]],
        "train_score": split.score(train_out, split.train_y, "train"),
        "test_score": split.score(test_out, split.test_y, "test"),
        "train": split.numbers(train_out, split.train_y, "train"),
        "test": split.numbers(test_out, split.test_y, "test"),
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "history": history,
    }
    outputs = [
        plots.plot_learning_curves(history, paths.figure("learning_curves.png")),
        write_json(paths.result("single_mlp.json"), result),
    ]
    out.made(NUMBER, outputs, [paths.data])
    return result
