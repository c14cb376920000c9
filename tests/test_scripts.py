"""The five scripts and `python -m stackgen run` as a user runs them: subprocesses, tiny epochs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TINY, TINY_MEMBERS, run_script

from stackgen import registry
from stackgen.cli.main import run_script as run_step_script
from stackgen.workdir.paths import Paths

# The five tutorial steps, from the registry.
SCRIPTS = [Path(s.script).name for s in registry.STEPS if s.package == "tutorial"]
ACC = r"[01]\.\d{3}"


@pytest.fixture(scope="session")
def chained(tmp_path_factory):
    """The five scripts run in order in one work dir; their results, by script."""
    workdir = tmp_path_factory.mktemp("chain") / "my work dir é"
    results = {}
    for script in SCRIPTS:
        done = run_script(script, *TINY, workdir=workdir)
        results[script] = done
        assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return workdir, results


@pytest.mark.xdist_group("chained")
def test_each_script_prints_the_tutorials_lines(chained):
    _, results = chained
    assert results["01_make_data.py"].stdout == "(100, 2) (1000, 2)\n"
    assert re.fullmatch(
        rf"Train: {ACC}, Test: {ACC}\ntest 95% interval: \[{ACC}, {ACC}\] on 1000 rows\n",
        results["02_single_mlp.py"].stdout,
    )
    assert results["03_train_members.py"].stdout == "".join(
        f">Saved models/member_{i}.keras\n" for i in (1, 2, 3)
    )
    table = (
        r"protocol +meta-learner rows +best member +average +(stacked|network)\n"
        rf"tutorial +fit: 1000 test; scored: 1000 test +{ACC} +{ACC} +{ACC}\n"
        rf"holdout +fit: 500 test; scored: other 500 test +{ACC} +{ACC} +{ACC}\n"
        rf"cv +fit: 100 train out-of-fold; scored: 1000 test +{ACC} +{ACC} +{ACC}\n"
    )
    # Under the table, each protocol's intervals and paired test (and step 4, the members').
    interval = rf"\[{ACC}, {ACC}\]"
    said = (
        r"95% intervals; (stacked|network) against the best member on the same rows, McNemar "
        r"\(rows only one of the two gets right\):\n"
        + "".join(
            rf"{p} +(stacked|network) {ACC} {interval}  best member {ACC} {interval}  "
            rf"[+-]{ACC}, p(=|<){ACC} \(\d+ vs \d+ rows\)\n"
            for p in ("tutorial", "holdout", "cv")
        )
    )
    members = rf"members on the 1000 test rows: 1: {interval}, 2: {interval}, 3: {interval}\n"
    assert re.fullmatch(
        rf"(Model Accuracy: {ACC}\n){{3}}Stacked Test Accuracy: {ACC}\n{table}{said}{members}",
        results["04_stack_logistic.py"].stdout,
    )
    assert re.fullmatch(
        rf"Stacked Test Accuracy: {ACC}\n{table}{said}", results["05_stack_integrated.py"].stdout
    )


@pytest.mark.xdist_group("chained")
def test_no_backend_noise_on_stderr(chained):
    _, results = chained
    for script, done in results.items():
        assert "absl::InitializeLog" not in done.stderr, script
        assert "I0000" not in done.stderr, script
        assert "retracing" not in done.stderr, script


@pytest.mark.xdist_group("chained")
def test_every_artifact_is_written_and_nothing_temporary_is_left(chained):
    workdir, _ = chained
    expected = [
        "data/split.npz",
        "figures/scatter.png",
        "figures/learning_curves.png",
        "results/single_mlp.json",
        "models/member_1.keras",
        "models/member_3.keras",
        "models/members.json",
        "models/meta_learner.skops",
        "results/stack_logistic.json",
        "figures/confusion.png",
        "models/stacked_network.keras",
        "results/stack_integrated.json",
    ]
    for rel in expected:
        assert (workdir / rel).is_file() and (workdir / rel).stat().st_size > 0, rel
    assert not list(workdir.rglob(".*.tmp*")), "temporary files left behind"


@pytest.mark.xdist_group("chained")
def test_results_json_holds_every_printed_number(chained):
    workdir, results = chained
    printed = [float(x) for x in re.findall(r"\d\.\d{3}", results["04_stack_logistic.py"].stdout)]
    saved_holdout = json.loads((workdir / "results/stack_logistic.json").read_text())["protocols"][
        "holdout"
    ]
    assert [
        round(saved_holdout[k], 3) for k in ("best_member_score", "average_score", "stacked_score")
    ] == printed[7:10]
    saved = json.loads((workdir / "results/stack_logistic.json").read_text())
    assert [round(a, 3) for a in saved["member_scores"]] == printed[:3]
    assert round(saved["stacked_score"], 3) == printed[3]
    assert saved["columns"][:4] == [
        "member_1:class_0",
        "member_1:class_1",
        "member_1:class_2",
        "member_2:class_0",
    ]


@pytest.mark.xdist_group("chained")
def test_stacked_model_figure_is_drawn_when_graphviz_is_present(chained):
    import shutil

    workdir, _ = chained
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed here")
    assert (workdir / "figures/stacked_model.png").read_bytes()[:4] == b"\x89PNG"


def test_a_script_ends_without_the_interpreters_teardown_yet_keeps_its_status_and_handlers():
    """cli.console.main_then_exit: exit handlers run, buffered output is flushed, and the
    status is the command's (a message is printed and gives status 1, as SystemExit does)."""
    code = (
        "import atexit, sys; from stackgen.cli.console import main_then_exit;"
        "atexit.register(lambda: print('handler ran'));"
        # Torn down at the interpreter's exit, which main_then_exit skips: never printed.
        "Late = type('Late', (), {'__del__': lambda self: print('torn down')}); late = Late();"
        "print('buffered', end='');"
        "status = sys.argv[1]; status = int(status) if status.isdigit() else status;"
        "main_then_exit(lambda: sys.exit(status))"
    )
    for status, expected in (("0", 0), ("3", 3), ("error: no such file", 1)):
        done = subprocess.run(
            [sys.executable, "-c", code, status], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == expected, done.stderr
        assert done.stdout == "bufferedhandler ran\n"
        assert ("error: no such file" in done.stderr) == (expected == 1)


def test_step_1_does_not_import_tensorflow(tmp_path):
    code = (
        # The script's main, not the script run as __main__: that ends the process when done.
        "import sys, runpy;"
        f"script = runpy.run_path({str(ROOT / 'scripts/01_make_data.py')!r});"
        "script['main'](['--workdir', sys.argv[1], '--quiet']);"
        "assert 'tensorflow' not in sys.modules;"
        "assert 'keras' not in sys.modules, 'imported TF'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def two_full_runs(tmp_path_factory):
    """``python -m stackgen run`` (steps 1-9 and the report) twice, same seed, tiny settings."""
    root = tmp_path_factory.mktemp("runs")
    # The first run's work dir is a fresh clone of the repository, as `make run` uses.
    subprocess.run(["git", "clone", "-q", str(ROOT), str(root / "a")], check=True)
    runs = [run_script("run", *TINY, workdir=root / name) for name in ("a", "b")]
    for done in runs:
        assert done.returncode == 0, done.stderr[-3000:]
    return root / "a", root / "b", runs[0].stdout, runs[1].stdout


@pytest.mark.xdist_group("full_runs")
def test_run_in_one_process_is_reproducible_to_the_last_digit(two_full_runs):
    a, b, first, second = two_full_runs
    assert first == second
    assert first.startswith("(100, 2) (1000, 2)\nTrain: ")
    for name in (
        "member_1.keras",
        "member_3.keras",
        "stacked_network.keras",
        "stacked_network_cv.keras",
    ):
        for x, y in zip(_weights(a / "models" / name), _weights(b / "models" / name), strict=True):
            np.testing.assert_array_equal(x, y)
    for name in ("methods.json", "diverse.json", "fine_tune.json"):
        assert json.loads((a / "results" / name).read_text()) == json.loads(
            (b / "results" / name).read_text()
        )


@pytest.mark.xdist_group("full_runs")
def test_a_run_leaves_a_fresh_clone_clean(two_full_runs):
    a = two_full_runs[0]
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored=no"], cwd=a, capture_output=True, text=True
    )
    assert status.returncode == 0 and status.stdout == ""
    assert (a / "lineage.json").is_file() and (a / "models/member_1.keras").is_file()


@pytest.mark.xdist_group("full_runs")
def test_every_file_a_run_writes_has_its_lineage(two_full_runs):
    a = two_full_runs[0]
    store = json.loads((a / "lineage.json").read_text())
    made = {
        p.relative_to(a).as_posix()
        for folder in ("data", "models", "figures", "results", "reports")
        for p in (a / folder).rglob("*")
        if p.is_file() and p.name != ".gitkeep"
    }
    assert made - set(store) == {"results/run.json"}  # the run's timings, not a step's output
    for step in registry.in_run():
        for pattern in step.writes:
            assert store[pattern]["step"] == step.number
    # Step 6's table records what it was made from: the members and the split.
    inputs = store["results/methods.json"]["inputs"]
    assert {"data/split.npz", "models/members.json", "models/member_3.keras"} <= set(inputs)


@pytest.mark.xdist_group("full_runs")
def test_the_report_marks_a_table_made_from_other_members(two_full_runs, tmp_path):
    import shutil

    work = tmp_path / "w"
    shutil.copytree(two_full_runs[1], work)
    assert run_script("03_train_members.py", *TINY, "--seed", "9", workdir=work).returncode == 0
    assert run_script("11_report.py", workdir=work).returncode == 0
    md = (work / "reports/report.md").read_text()
    assert (
        "Left out, made from other members or data: models/members.json changed after "
        "results/methods.json was made from it: re-run scripts/06_compare_methods.py" in md
    )
    assert "## All methods, this run (step 6)\n\nNot run yet" in md


@pytest.mark.xdist_group("full_runs")
def test_run_writes_every_extension_and_the_report(two_full_runs):
    a, _, stdout, _ = two_full_runs
    methods = json.loads((a / "results/methods.json").read_text())
    assert list(methods["protocols"]) == ["tutorial", "holdout", "cv"]
    assert methods["rows"][-1] == "integrated network"
    assert set(methods["protocols"]["cv"]) == set(methods["rows"])
    assert re.search(rf"^logistic on member 1 alone +{ACC} +{ACC} +{ACC}$", stdout, re.M)
    assert re.search(r"^protocol +head only +fine-tuned +change$", stdout, re.M)
    diverse = json.loads((a / "results/diverse.json").read_text())
    assert diverse["diverse_architectures"][:3] == [[10], [25], [50]]
    assert (a / "figures/decision_boundaries.png").read_bytes()[:4] == b"\x89PNG"
    md = (a / "reports/report.md").read_text()
    for heading in (
        "## Replication: the tutorial's protocol",
        "## Honest protocols",
        "## All methods",
        "## Fine-tuning",
        "## Repeat study (step 10)",
    ):
        assert heading in md, heading
    assert "Not run yet: run scripts/10_repeat_study.py" in md
    page = (a / "reports/report.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 and 'src="http' not in page


@pytest.mark.xdist_group("full_runs")
def test_fine_tuning_leaves_step_3_and_5_files_untouched(two_full_runs, tmp_path):
    import hashlib
    import shutil

    work = tmp_path / "w"
    shutil.copytree(two_full_runs[0], work)

    def digests():
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (work / "models").glob("*.keras")
        }

    before = digests()
    done = run_script("08_fine_tune.py", *TINY, workdir=work)
    assert done.returncode == 0, done.stderr
    assert digests() == before


@pytest.mark.xdist_group("full_runs")
def test_repeat_study_resumes_and_feeds_the_report(two_full_runs, tmp_path):
    import shutil

    work = tmp_path / "w"
    shutil.copytree(two_full_runs[0], work)
    tiny = [
        "--epochs",
        "2",
        "--meta-epochs",
        "2",
        "--members",
        "2",
        "--max-members",
        "3",
        "--jobs",
        "2",
    ]
    first = run_script("10_repeat_study.py", *tiny, "--seeds", "2", workdir=work)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "0 already done" in first.stdout and "2 to run on 2 processes" in first.stdout
    second = run_script("10_repeat_study.py", *tiny, "--seeds", "3", workdir=work)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "2 already done" in second.stdout and "1 to run" in second.stdout
    assert re.findall(r"^  seed (\d+) done in", second.stdout, re.M) == ["3"]
    study = json.loads((work / "results/repeat_study.json").read_text())
    assert study["seeds"] == [1, 2, 3]
    logistic = study["methods"]["holdout"]["logistic regression (multinomial)"]
    assert logistic["n"] == 3 and logistic["ci_low"] <= logistic["mean"] <= logistic["ci_high"]
    assert len(study["vary_members"]["cv"]["average of probabilities"]) == 3
    assert (work / "figures/vary_members.png").is_file()
    assert run_script("11_report.py", workdir=work).returncode == 0
    assert "## Repeat study (step 10): 3 seeds" in (work / "reports/report.md").read_text()


def _weights(path):
    import keras

    return keras.saving.load_model(path, compile=False).get_weights()


@pytest.mark.parametrize(
    "script, missing, maker",
    [
        ("02_single_mlp.py", "data/split.npz", "scripts/01_make_data.py"),
        ("03_train_members.py", "data/split.npz", "scripts/01_make_data.py"),
        ("04_stack_logistic.py", "data/split.npz", "scripts/01_make_data.py"),
        ("05_stack_integrated.py", "data/split.npz", "scripts/01_make_data.py"),
    ],
)
def test_a_step_without_its_inputs_names_the_file_and_the_step(tmp_path, script, missing, maker):
    done = run_script(script, *TINY, workdir=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    flags = f" --workdir {tmp_path}"  # the hint rebuilds this work dir, not the repository's
    assert done.stderr == (  # and run carries the members' settings: pasted, the same members
        f"error: {missing} is missing: run {maker}{flags} (or python -m stackgen "
        f"run{flags}{TINY_MEMBERS})\n"
    )


@pytest.mark.parametrize("script", ["04_stack_logistic.py", "05_stack_integrated.py"])
def test_steps_4_and_5_without_members_name_step_3(tmp_path, script):
    assert run_script("01_make_data.py", "--quiet", workdir=tmp_path).returncode == 0
    done = run_script(script, *TINY, workdir=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        f"error: models/members.json is missing: run scripts/03_train_members.py --workdir "
        f"{tmp_path}{TINY_MEMBERS} (or python -m stackgen run --workdir {tmp_path}{TINY_MEMBERS})\n"
    )


def test_a_corrupt_data_file_is_one_line_not_a_traceback(tmp_path):
    paths = Paths(tmp_path)
    paths.data.parent.mkdir(parents=True)
    paths.data.write_text("not an npz")
    done = run_script("03_train_members.py", *TINY, workdir=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: data/split.npz could not be read (")
    assert done.stderr.endswith(
        f"run scripts/01_make_data.py --workdir {tmp_path} (or python -m stackgen run "
        f"--workdir {tmp_path}{TINY_MEMBERS})\n"
    )
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
        (["--members", "-2"], "argument --members: must be at least 1, got -2"),
        (["--meta-epochs", "x"], "argument --meta-epochs: expected a whole number, got 'x'"),
        (["--meta", "tree"], "argument --meta: invalid choice: 'tree'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--folds", "1"], "argument --folds: must be at least 2, got 1"),
        (["--protocol", "leaky"], "argument --protocol: invalid choice: 'leaky'"),
        (["--task", "regression"], "error: --task and --test-size apply to your own data"),
        (["--data", "x.csv"], "error: --data FILE.csv and --target COLUMN go together"),
        (
            ["--meta", "nnls", "--passthrough"],
            "error: --meta nnls only weights the members' outputs and cannot use the raw "
            "features: drop --passthrough, or pick a meta-learner that takes extra columns "
            "(multinomial, ovr, mlr, rf, gbm, knn, mlp, linear)",
        ),
        (["--meta", "greedy", "--passthrough"], "error: --meta greedy only weights the members"),
    ],
)
def test_invalid_flags_are_rejected_before_anything_runs(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as stopped:
        step03_main([*flags, "--workdir", str(tmp_path)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "models").exists()


def step03_main(argv):
    return run_step_script("stackgen.tutorial.step03_train_members", argv, None)


def test_a_work_dir_that_cannot_be_created_is_one_line(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    done = run_script("01_make_data.py", workdir=blocker / "work")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot write or read ")
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
