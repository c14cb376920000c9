"""The integrated network: frozen members, a trainable head, unique names, a faithful save."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from conftest import stacked_network, tiny_config, train_member

from stackgen.data.task import CLASSIFICATION
from stackgen.methods import integrated, training
from stackgen.workdir import member_files
from stackgen.workdir import split_files as data
from stackgen.workdir.paths import Paths
from stackgen.workdir.safe_reads import load_keras_model


@pytest.fixture
def network(trained):
    paths = Paths(trained.workdir)
    split = data.load_split(paths)
    models = member_files.load_members(paths, split)
    before = [m.get_weights() for m in models]
    net = stacked_network(models, split.test_X, split.test_y, split.n_classes, split.task, trained)
    return net, models, before, split


def test_only_the_head_is_trainable(network):
    net, models, _, _ = network
    assert integrated.trainable_weight_names(net) == [
        "stack_hidden/kernel",
        "stack_hidden/bias",
        "stack_output/kernel",
        "stack_output/bias",
    ]
    for m in models:
        assert m.trainable is False and m.trainable_weights == []


def test_training_the_head_leaves_the_members_unchanged(network):
    net, models, before, _ = network
    head_steps = net.get_layer("stack_head").optimizer.iterations.numpy()
    assert head_steps == 2 * 32  # 2 epochs of 1,000 rows in batches of 32
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
        "stack_head",
    ]
    assert [layer.name for layer in net.get_layer("stack_head").layers] == [
        "stack_head_input",
        "stack_hidden",
        "stack_output",
    ]
    assert len(set(names + inner)) == len(names + inner)


def test_the_saved_network_loads_with_plain_keras_without_a_warning(network, tmp_path):
    """What a user who loads models/stacked_network.keras with Keras alone gets: no complaint
    about optimizer state, a compiled network, the same predictions."""
    net, _, _, split = network
    path = member_files.save_model(net, tmp_path / "stacked.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reloaded = keras.saving.load_model(path)
    assert reloaded.compiled
    np.testing.assert_array_equal(
        training.predict_proba(reloaded, split.test_X), training.predict_proba(net, split.test_X)
    )


def test_save_and_reload_gives_identical_predictions(network, tmp_path):
    net, _, _, split = network
    path = member_files.save_model(net, tmp_path / "stacked.keras")
    reloaded = load_keras_model(path, Paths(tmp_path))
    np.testing.assert_array_equal(
        training.predict_proba(reloaded, split.test_X), training.predict_proba(net, split.test_X)
    )


def test_one_shared_input_equals_the_tutorials_k_copies(network):
    """Feeding each member its own copy of X (the tutorial's graph) changes nothing."""
    import keras

    net, models, _, split = network
    copies = [training.predict_proba(m, split.test_X.copy()) for m in models]
    shared = keras.Model(net.input, net.get_layer("stack_concat").output)(split.test_X)
    np.testing.assert_allclose(np.concatenate(copies, axis=1), shared, rtol=1e-6)


def test_binary_problem_and_single_member_build_and_train(workdir):
    cfg = tiny_config(workdir, centers=2, members=1, epochs=2)
    split = data.make_split(cfg)
    model = train_member(split, cfg, seed=1)
    net = stacked_network([model], split.test_X, split.test_y, 2, split.task, cfg)
    assert net.output_shape == (None, 2)
    assert training.predict_proba(net, split.test_X).shape == (1000, 2)


def test_head_trained_on_member_outputs_equals_training_through_the_frozen_members(trained):
    """The shortcut in fit_head changes the cost, not the result."""
    paths = Paths(trained.workdir)
    split = data.load_split(paths)
    models = member_files.load_members(paths, split)
    cfg = tiny_config(trained.workdir, meta_epochs=3)
    fast = stacked_network(models, split.test_X, split.test_y, 3, CLASSIFICATION, cfg)

    training.seed_everything(cfg.head_seed)  # the same initial head weights as inside
    head = integrated.build_head(3 * len(models), 3, cfg.head_units, CLASSIFICATION)
    whole = integrated.assemble(models, head, CLASSIFICATION)
    training.fit(
        whole,
        split.test_X,
        CLASSIFICATION.targets(split.test_y, 3),
        task=CLASSIFICATION,
        epochs=3,
        batch_size=32,
        seed=cfg.head_seed,
    )
    for a, b in zip(fast.get_layer("stack_head").get_weights(), head.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
