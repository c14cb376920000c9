"""Shared fixtures: tiny configurations in temporary work dirs, and a script runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stackgen.config import Config

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
TINY = ["--epochs", "3", "--meta-epochs", "2", "--fine-tune-epochs", "2", "--members", "3"]
TINY += ["--quiet"]
# What a hint that reruns step 3 (or ``run``) carries after TINY: the flags that made its members.
TINY_MEMBERS = " --members 3 --epochs 3"


def tiny_config(workdir: Path, **overrides) -> Config:
    settings = dict(epochs=3, meta_epochs=2, fine_tune_epochs=2, members=3, workdir=workdir)
    settings["quiet"] = True
    settings.update(overrides)
    return Config(**settings)


COMMANDS = ("run", "predict", "doctor")


def run_script(
    script: str, *args: str, workdir: Path, env: dict | None = None, input: str | None = None
):
    """Run scripts/<script> (or ``python -m stackgen <script>`` for run, predict and doctor) as
    a user would, with ``input`` on standard input."""
    command = (
        [sys.executable, "-m", "stackgen", script]
        if script in COMMANDS
        else [sys.executable, str(SCRIPTS / script)]
    )
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*command, *args, "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=600,
        cwd=ROOT,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path / "work dir ü"  # spaces and non-ASCII on purpose


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A work dir where steps 1 and 3 ran with tiny settings (3 members), in this process."""
    from stackgen.tutorial import step01_make_data, step03_train_members

    cfg = tiny_config(tmp_path_factory.mktemp("trained"))
    step01_make_data.run(cfg)
    step03_train_members.run(cfg)
    return cfg


def train_member(split, cfg: Config, seed: int, name: str = "member_1"):
    """The tutorial's MLP for ``split``, seeded ``seed`` and trained on its training rows at
    ``cfg``'s epochs, as step 2 trains its MLP (without scoring every epoch)."""
    from stackgen.tutorial.step02_single_mlp import train_single_mlp

    return train_single_mlp(split, cfg, seed=seed, name=name, validate=False)[0]


def stacked_network(models, X, y, n_classes, task, cfg: Config, passthrough=False):
    """Step 5's network: a head fit on the members' outputs for (X, y), behind the members."""
    import numpy as np

    from stackgen.methods import integrated, members
    from stackgen.methods.metalearners import stacked_features

    P = np.stack(members.member_probabilities(models, X), axis=1)
    head = integrated.fit_head(
        stacked_features(P, X, passthrough), y, n_classes, task, **cfg.head()
    )
    return integrated.assemble(models, head, task, passthrough, X)


def step_here(number: int, argv: list[str], capfd) -> tuple[int, str, str]:
    """Numbered script ``number``'s main, in this process (no new interpreter, no new import of
    TensorFlow): (exit status, stdout, stderr)."""
    from stackgen import registry
    from stackgen.cli.main import run_script as run_step

    capfd.readouterr()
    try:
        run_step(registry.step(number).module_name, argv, None)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capfd.readouterr()
    return status, out, err


@pytest.fixture(scope="session")
def once():
    """``once(key, make)``: what ``make()`` gives, made the first time ``key`` is asked for and
    kept for the session. For expensive parametrized fixtures (a whole run per table, per
    backend): pytest makes a parametrized fixture again each time its parameter changes, and
    xdist runs the tests that share it in collection order, interleaved with other modules'."""
    made = {}

    def get(key, make):
        if key not in made:
            made[key] = make()
        return made[key]

    return get
