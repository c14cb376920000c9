"""Progress lines (stackgen/progress.py): at most one every few seconds, with time so far and
left; reported from deep inside training without changing a bit of it; shown on the command
line only where asked (a terminal, or --progress) and never under --quiet."""

from __future__ import annotations

import numpy as np
import pytest
from test_compiled_loop import _assert_same, _data, _model_fit, _twin_of

from stackgen import progress
from stackgen.cli.main import main
from stackgen.data.task import CLASSIFICATION
from stackgen.methods import compiled_loop, members, training


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _progress(shown: bool = True, every: float = 5.0):
    clock, said = Clock(), []
    reporter = progress.Progress("step 3", shown, every=every, clock=clock, write=said.append)
    return reporter, clock, said


def test_at_most_one_line_every_few_seconds_with_time_so_far_and_left():
    reporter, clock, said = _progress()
    for done in range(1, 11):
        clock.now = done * 2.0  # a training every 2 s
        reporter.trained("fold copies", done, 10)
    # lines at 6 s (3 done), 12 s (6 done), 18 s (9 done): never two within 5 s
    assert said == [
        "progress: step 3: fold copies 3 of 10 done, 6 s, about 14 s left",
        "progress: step 3: fold copies 6 of 10 done, 12 s, about 8 s left",
        "progress: step 3: fold copies 9 of 10 done, 18 s, about 2 s left",
    ]


def test_nothing_is_said_when_not_shown_or_when_the_work_is_short():
    hidden, clock, said = _progress(shown=False)
    clock.now = 100.0
    hidden.trained("members", 1, 5)
    short, clock, said_short = _progress()
    clock.now = 1.0
    short.trained("members", 5, 5)
    assert said == [] and said_short == []


def test_reports_from_inside_go_to_the_current_progress_and_nowhere_without_one():
    reporter, clock, said = _progress(every=0.0)
    progress.current().epochs(25, 500, 25)  # none current: nothing, no error
    with progress.reporting(reporter):
        clock.now = 4.0
        progress.current().epochs(100, 500, 25)
        with progress.silenced():
            progress.current().trained("members", 1, 2)
        progress.current().doing("cv protocol, random forest")
    assert said == [
        "progress: step 3: epoch 100 of 500, 25 models side by side, 4 s, about 16 s left for them",
        "progress: step 3: cv protocol, random forest, 4 s",
    ]


@pytest.mark.skipif(not compiled_loop.available(), reason="the compiled loop is TensorFlow's")
def test_the_compiled_loop_in_chunks_of_epochs_ends_with_model_fits_bits(monkeypatch):
    """Epochs run a chunk at a time, so a progress line can come between chunks: the optimizer's
    state carried across them leaves the weights, Adam's moments and the learning curves as one
    loop (and as model.fit) leaves them."""
    X, Y = _data()
    monkeypatch.setattr(compiled_loop, "CHUNK_EPOCHS", 2)
    reporter, _, said = _progress(every=0.0)
    compiled_loop.forget()
    training.seed_everything(3)
    model = members.build_mlp("member_3", 2, 3, 7)
    plain, whole = _twin_of(model), _twin_of(model)
    validation = (X[:10], Y[:10])
    fit = dict(task=CLASSIFICATION, epochs=7, batch_size=32, seed=3, validation=validation)
    with progress.reporting(reporter):
        chunked = training.fit(model, X, Y, **fit)
    assert [line.split(",")[0] for line in said] == [
        f"progress: step 3: epoch {e} of 7" for e in (2, 4, 6, 7)
    ]
    _model_fit(plain, X, Y, 7, 3)
    _assert_same(model, plain)
    compiled_loop.forget()
    monkeypatch.setattr(compiled_loop, "CHUNK_EPOCHS", 1000)
    in_one = training.fit(whole, X, Y, **fit)
    _assert_same(model, whole)
    assert chunked.keys() == in_one.keys() and len(chunked["val_loss"]) == 7
    for key in chunked:
        assert np.array_equal(chunked[key], in_one[key]), key
    compiled_loop.forget()


def _step3_stderr(tmp_path, capfd, monkeypatch, *flags) -> str:
    monkeypatch.setenv("STACKGEN_PROGRESS_SECONDS", "0")
    work = str(tmp_path / "w")
    argv = ["run", "--epochs", "30", "--members", "2", "--folds", "2", "--workdir", work]
    main([*argv, "--upto", "3", *flags])
    return capfd.readouterr().err


@pytest.mark.xdist_group("own_members")
def test_progress_shows_on_a_pipe_only_with_the_flag_and_never_under_quiet(
    tmp_path, capfd, monkeypatch
):
    capfd.readouterr()
    asked = _step3_stderr(tmp_path / "a", capfd, monkeypatch, "--progress")
    assert "progress: step 3: epoch 25 of 30, 4 models side by side" in asked  # 2 folds x 2
    assert "progress: step 3: members 2 of 2 done" in asked
    assert "progress:" not in _step3_stderr(tmp_path / "b", capfd, monkeypatch)  # not a terminal
    quiet = _step3_stderr(tmp_path / "c", capfd, monkeypatch, "--progress", "--quiet")
    assert "progress:" not in quiet
