"""The estimators and the command line are one computation: at the tutorial's settings and
seed, the API gives the members', the logistic stack's and the integrated network's numbers that
steps 4 and 5 print, under all three protocols, to the last digit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_config
from sklearn.datasets import make_blobs

import stackgen
from stackgen import pipeline
from stackgen.data.task import CLASSIFICATION
from stackgen.methods import compiled_loop
from stackgen.methods.protocols import holdout_rows

EPOCHS, HEAD_EPOCHS, MEMBERS = 500, 300, 5  # the tutorial's
pytestmark = pytest.mark.xdist_group("api_matches_cli")  # one run of the steps for all three


@pytest.fixture(scope="session")
def cli(tmp_path_factory) -> dict:
    """Steps 1-5 at the tutorial's settings, in this process, as ``python -m stackgen run`` runs
    them."""
    cfg = tiny_config(
        tmp_path_factory.mktemp("cli"), epochs=EPOCHS, meta_epochs=HEAD_EPOCHS, members=MEMBERS
    )
    pipeline.run_all(cfg, upto=5)
    results = cfg.workdir / "results"
    return {
        name: json.loads((results / f"{name}.json").read_text())
        for name in ("stack_logistic", "stack_integrated")
    }


@pytest.fixture(scope="session")
def api(cli) -> dict:
    """The same stacks through the API: the tutorial's data and members, seed 1. Trained
    afresh: the fits the command line made are forgotten first (``compiled_loop`` would give
    back a fit asked for again)."""
    compiled_loop.forget()
    X, y = make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0, random_state=2)
    train_X, train_y, test_X, test_y = X[:100], y[:100], X[100:], y[100:]
    members = [stackgen.tutorial_mlp(hidden=25)] * MEMBERS
    head = stackgen.NetworkHead(epochs=HEAD_EPOCHS)
    numbers = {}
    cv = stackgen.StackingClassifier(members, cv=5, epochs=EPOCHS, random_state=1)
    cv.fit(train_X, train_y)
    trained = cv.members_  # the members step 3 trains, on the 100 training rows
    numbers["members"] = cv.compare(test_X, test_y)["accuracy"][: len(trained)].tolist()
    numbers["cv"] = cv.score(test_X, test_y)
    network_cv = stackgen.StackingClassifier(
        members, final_estimator=head, cv=5, epochs=EPOCHS, random_state=1
    ).fit(train_X, train_y)
    numbers["network cv"] = network_cv.score(test_X, test_y)
    fit, scored = holdout_rows(test_y, 1, CLASSIFICATION)
    for final, label in ((None, ""), (head, "network ")):
        # The tutorial's protocol: fit on the test rows it is scored on.
        tutorial = stackgen.StackingClassifier(trained, final, cv="prefit", random_state=1)
        numbers[f"{label}tutorial"] = tutorial.fit(test_X, test_y).score(test_X, test_y)
        holdout = stackgen.StackingClassifier(trained, final, cv="prefit", random_state=1)
        holdout.fit(test_X[fit], test_y[fit])
        numbers[f"{label}holdout"] = holdout.score(test_X[scored], test_y[scored])
    return numbers


def test_the_members_and_the_logistic_stack_match_step_4(cli, api):
    step4 = cli["stack_logistic"]
    assert api["members"] == step4["member_scores"]
    for protocol in ("tutorial", "holdout", "cv"):
        assert api[protocol] == step4["protocols"][protocol]["stacked_score"], protocol


def test_the_integrated_network_matches_step_5(cli, api):
    step5 = cli["stack_integrated"]["protocols"]
    for protocol in ("tutorial", "holdout", "cv"):
        assert api[f"network {protocol}"] == step5[protocol]["stacked_score"], protocol


def test_the_numbers_differ_between_protocols_so_the_match_means_something(api):
    assert len({api["tutorial"], api["holdout"], api["cv"]}) == 3
    assert np.ptp(api["members"]) > 0
