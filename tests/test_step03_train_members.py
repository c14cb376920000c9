"""Members: naming, saving with a manifest, loading exactly what the last run made, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config, train_member

from stackgen.methods import members
from stackgen.trust.errors import CorruptArtifactError, MissingArtifactError, StackgenError
from stackgen.tutorial import step01_make_data, step03_train_members
from stackgen.workdir import member_files
from stackgen.workdir import split_files as data
from stackgen.workdir.paths import Paths
from stackgen.workdir.safe_reads import load_keras_model


def test_members_are_named_and_saved_with_a_manifest(trained):
    paths = Paths(trained.workdir)
    split = data.load_split(paths)
    models = member_files.load_members(paths, split)
    assert [m.name for m in models] == ["member_1", "member_2", "member_3"]
    assert [layer.name for layer in models[1].layers] == [
        "member_2_input",
        "member_2_hidden",
        "member_2_output",
    ]
    manifest = paths.members_manifest.read_text()
    assert '"member_seeds": [\n    2,\n    3,\n    4\n  ]' in manifest


def test_members_differ_from_each_other(trained):
    paths = Paths(trained.workdir)
    models = member_files.load_members(paths, data.load_split(paths))
    w1, w2 = models[0].get_weights()[0], models[1].get_weights()[0]
    assert not np.allclose(w1, w2)


def test_same_seed_gives_identical_weights_and_other_seed_does_not(workdir):
    split = data.make_split(tiny_config(workdir))
    cfg = tiny_config(workdir, epochs=4)
    a, _ = train_member(split, cfg, seed=7), None
    b, _ = train_member(split, cfg, seed=7), None
    c, _ = train_member(split, cfg, seed=8), None
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_fewer_members_on_a_rerun_removes_the_extra_ones(tmp_path):
    cfg = tiny_config(tmp_path, members=3, epochs=1)
    step01_make_data.run(cfg)
    step03_train_members.run(cfg)
    step03_train_members.run(tiny_config(tmp_path, members=2, epochs=1))
    paths = Paths(tmp_path)
    assert sorted(p.name for p in paths.models_dir.glob("member_*.keras")) == [
        "member_1.keras",
        "member_2.keras",
    ]
    assert len(member_files.load_members(paths, data.load_split(paths))) == 2


def test_a_gap_in_the_members_names_step_3(trained, tmp_path):
    import shutil

    shutil.copytree(trained.workdir, tmp_path / "w")
    paths = Paths(tmp_path / "w")
    paths.member(2).unlink()
    with pytest.raises(
        MissingArtifactError,
        match=r"models/member_2\.keras is missing: run "
        r"scripts/03_train_members\.py",
    ):
        member_files.load_members(paths, data.load_split(paths))


def test_a_zero_byte_member_is_refused(trained, tmp_path):
    import shutil

    shutil.copytree(trained.workdir, tmp_path / "w")
    paths = Paths(tmp_path / "w")
    paths.member(3).write_bytes(b"")
    with pytest.raises(CorruptArtifactError, match=r"models/member_3\.keras could not be read"):
        member_files.load_members(paths, data.load_split(paths))


def test_a_member_trained_for_other_data_is_refused(trained, tmp_path):
    import shutil

    shutil.copytree(trained.workdir, tmp_path / "w")
    paths = Paths(tmp_path / "w")
    split = data.load_split(paths)
    wrong = members.build_mlp("member_1", split.n_features, 4, 25)
    member_files.save_model(wrong, paths.member(1))
    with pytest.raises(StackgenError, match="member_1, which has 4 outputs, the data 3"):
        member_files.load_members(paths, split)


def test_missing_manifest_names_step_3(tmp_path):
    paths = Paths(tmp_path)
    step01_make_data.run(tiny_config(tmp_path))
    with pytest.raises(MissingArtifactError, match=r"models/members\.json is missing"):
        member_files.load_members(paths, data.load_split(paths))


def test_a_lambda_layer_model_is_refused_and_its_code_never_runs(tmp_path):
    import keras

    target = tmp_path / "PWNED"
    where = str(target)
    inputs = keras.Input((2,))
    outputs = keras.layers.Lambda(
        lambda x: x * 0 + float(open(where, "w").write("ran") or 0)  # noqa: SIM115
    )(inputs)
    target.unlink()  # building the model ran the lambda once; loading must not run it again
    model = keras.Model(inputs, outputs, name="member_1")
    paths = Paths(tmp_path)
    member_files.save_model(model, paths.member(1))
    with pytest.raises(CorruptArtifactError, match="could not be read"):
        load_keras_model(paths.member(1), paths)
    assert not target.exists()
