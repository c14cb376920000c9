"""The integrated network: frozen members, a trainable head, unique names, a faithful save."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from stackgen import data, integrated, members, training
from stackgen.artifacts import Paths


@pytest.fixture
def network(trained):
    paths = Paths(trained.workdir)
    split = data.load_split(paths)
    models = members.load_members(paths, split)
    before = [m.get_weights() for m in models]
    net, history = integrated.train_stacked_network(
        models, split.test_X, split.test_y, split.n_classes, trained
    )
    return net, models, before, split, history


def test_only_the_head_is_trainable(network):
    net, models, _, _, _ = network
    assert integrated.trainable_weight_names(net) == [
        "stack_hidden/kernel",
        "stack_hidden/bias",
        "stack_output/kernel",
        "stack_output/bias",
    ]
    for m in models:
        assert m.trainable is False and m.trainable_weights == []


def test_training_the_head_leaves_the_members_unchanged(network):
    net, models, before, _, history = network
    assert len(history["loss"]) == 2
    for model, weights in zip(models, before, strict=True):
        for now, then in zip(model.get_weights(), weights, strict=True):
            np.testing.assert_array_equal(now, then)


def test_every_layer_name_in_the_network_is_unique(network):
    net = network[0]
    names = [layer.name for layer in net.layers]
    inner = [layer.name for m in network[1] for layer in m.layers]
    assert names == [
        "stack_input",
        "member_1",
        "member_2",
        "member_3",
        "stack_concat",
        "stack_hidden",
        "stack_output",
    ]
    assert len(set(names + inner)) == len(names + inner)


def test_save_and_reload_gives_identical_predictions(network, tmp_path):
    net, _, _, split, _ = network
    path = members.save_model(net, tmp_path / "stacked.keras")
    reloaded = members.load_model(path, 5, Paths(tmp_path))
    np.testing.assert_array_equal(
        training.predict_proba(reloaded, split.test_X), training.predict_proba(net, split.test_X)
    )


def test_one_shared_input_equals_the_tutorials_k_copies(network):
    """Feeding each member its own copy of X (the tutorial's graph) changes nothing."""
    import keras

    net, models, _, split, _ = network
    copies = [training.predict_proba(m, split.test_X.copy()) for m in models]
    shared = keras.Model(net.input, net.get_layer("stack_concat").output)(split.test_X)
    np.testing.assert_allclose(np.concatenate(copies, axis=1), shared, rtol=1e-6)


def test_binary_problem_and_single_member_build_and_train(workdir):
    cfg = tiny_config(workdir, centers=2, members=1, epochs=2)
    split = data.make_split(cfg)
    model, _ = members.train_mlp("member_1", split, cfg, seed=1, validate=False)
    net, _ = integrated.train_stacked_network([model], split.test_X, split.test_y, 2, cfg)
    assert net.output_shape == (None, 2)
    assert training.predict_proba(net, split.test_X).shape == (1000, 2)
