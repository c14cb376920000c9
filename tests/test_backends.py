"""Every step under each Keras backend, and models saved under one backend used under another.

The rest of the suite runs under the default backend (TensorFlow), the numbered scripts included.
Here ``python -m stackgen run`` (steps 1-9 and the report) runs as a subprocess with
KERAS_BACKEND=jax and =torch, the fast training path is checked against plain ``model.fit``
under each, and members saved under one backend must predict the same under all.
``make test`` installs JAX and PyTorch and sets STACKGEN_REQUIRE_BACKENDS=1, so a missing backend
fails there instead of skipping.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TINY, run_script

OTHER_BACKENDS = ("jax", "torch")
ACC = r"[01]\.\d{3}"


def need(backend: str) -> None:
    module = backend  # each backend's package is named like the backend
    if importlib.util.find_spec(module) is None:
        if os.environ.get("STACKGEN_REQUIRE_BACKENDS") == "1":
            pytest.fail(f"{module} is not installed: make test installs it (.[{module}])")
        pytest.skip(f"{module} is not installed (pip install -e .[{module}])")


def under(backend: str) -> dict:
    return {"KERAS_BACKEND": backend}


def _run_under(backend: str, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"chain_{backend}") / "work"
    done = run_script("run", *TINY, workdir=workdir, env=under(backend))
    assert done.returncode == 0, f"{backend}:\n{done.stdout}\n{done.stderr[-3000:]}"
    return backend, workdir, done


@pytest.fixture(params=OTHER_BACKENDS)
def chained(request, once, tmp_path_factory):
    """Every step and the report under one backend, run once per backend: (backend, work dir,
    the run's output)."""
    need(request.param)
    return once(("backend", request.param), lambda: _run_under(request.param, tmp_path_factory))


@pytest.mark.xdist_group("backends")
def test_every_step_runs_and_prints_the_tutorials_lines(chained):
    backend, workdir, done = chained
    assert done.stdout.startswith("(100, 2) (1000, 2)\n")
    assert re.search(rf"^Train: {ACC}, Test: {ACC}$", done.stdout, re.M)
    assert "".join(f">Saved models/member_{i}.keras\n" for i in (1, 2, 3)) in done.stdout
    assert re.search(rf"(Model Accuracy: {ACC}\n){{3}}Stacked Test Accuracy: {ACC}\n", done.stdout)
    assert len(re.findall(rf"^Stacked Test Accuracy: {ACC}$", done.stdout, re.M)) == 2
    assert "Traceback" not in done.stderr, backend
    for made in ("methods.json", "diverse.json", "fine_tune.json"):  # steps 6-8
        assert (workdir / "results" / made).is_file(), made
    assert (workdir / "figures/decision_boundaries.png").is_file()  # step 9
    assert (workdir / "reports/report.html").is_file()


@pytest.mark.xdist_group("backends")
def test_the_learning_curves_have_one_point_per_epoch(chained):
    import json

    _, workdir, _ = chained
    history = json.loads((workdir / "results/single_mlp.json").read_text())["history"]
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(values) == 3 for values in history.values())
    assert all(np.isfinite(history["val_loss"]))


def _predict(workdir, backend: str, points) -> np.ndarray:
    """``python -m stackgen predict`` under ``backend``: every model's probabilities."""
    done = subprocess.run(
        [sys.executable, "-m", "stackgen", "predict", "--input", str(points), "--long"]
        + ["--workdir", str(workdir), "--protocol", "tutorial"],
        capture_output=True,
        text=True,
        env={**os.environ, **under(backend)},
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"{backend}: {done.stderr[-3000:]}"
    rows = [line.split(",") for line in done.stdout.splitlines()[1:]]
    return np.array([[float(v) for v in row[3:]] for row in rows])


def _predict_here(workdir, points, capsys) -> np.ndarray:
    """The same, in this process (TensorFlow, the suite's backend): one process start less."""
    import keras

    from stackgen.cli.predict import predict
    from stackgen.config import Config

    assert keras.backend.backend() == "tensorflow"
    capsys.readouterr()
    predict(Config(workdir=workdir), str(points), "tutorial", long=True)
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    return np.array([[float(v) for v in row[3:]] for row in rows])


@pytest.mark.xdist_group("backends")
def test_models_saved_under_one_backend_predict_the_same_under_every_backend(
    chained, tmp_path, capsys
):
    backend, workdir, _ = chained
    points = tmp_path / "points.csv"
    points.write_text("x1,x2\n0,0\n-5,3\n2.5,-7\n-10,-1\n")
    made_here = _predict(workdir, backend, points)
    assert made_here.shape == (4 * 5, 3)  # 3 members, the logistic stack, the network
    np.testing.assert_allclose(
        _predict_here(workdir, points, capsys), made_here, atol=2e-4, err_msg="tensorflow"
    )
    (third,) = (b for b in OTHER_BACKENDS if b != backend)
    need(third)
    np.testing.assert_allclose(
        _predict(workdir, third, points), made_here, atol=2e-4, err_msg=third
    )


@pytest.mark.xdist_group("backends")
def test_same_seed_same_weights_under_this_backend(chained, tmp_path):
    """Step 3 again in a second work dir: bit-identical member weights."""
    import keras

    backend, workdir, _ = chained
    again = tmp_path / "again"
    (again / "data").mkdir(parents=True)
    (again / "data/split.npz").write_bytes((workdir / "data/split.npz").read_bytes())
    done = run_script("03_train_members.py", *TINY, workdir=again, env=under(backend))
    assert done.returncode == 0, done.stderr[-3000:]
    for i in (1, 2, 3):
        first = keras.saving.load_model(workdir / f"models/member_{i}.keras", compile=False)
        second = keras.saving.load_model(again / f"models/member_{i}.keras", compile=False)
        for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_the_fast_training_path_matches_plain_fit_under(backend):
    """tests/test_training.py and tests/test_compiled_loop.py (the backend's loop == plain
    model.fit, side by side == one by one), run again under ``backend``."""
    need(backend)
    files = ["tests/test_training.py", "tests/test_compiled_loop.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        capture_output=True,
        text=True,
        env={**os.environ, **under(backend)},
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", done.stdout) and " failed" not in done.stdout
