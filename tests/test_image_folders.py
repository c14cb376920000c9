"""Images in folders (``--data DIR``, one folder per class) and arrays too large to load: the
split made from the file list, images decoded a batch at a time into a split later steps map
from disk, training fed a batch at a time, ``predict --input`` on a folder or on image files."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
from conftest import run_script, tiny_config
from PIL import Image
from sklearn.datasets import load_digits

from stackgen.data import inputs
from stackgen.methods import training
from stackgen.trust.errors import StackgenError
from stackgen.workdir import lineage, mapped_arrays
from stackgen.workdir.image_folders import class_files
from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import load_split, make_split, save_split

CLASSES = 3
PER_CLASS = 100


def _write_folder(folder):
    """300 PNGs (8x8, grayscale, 0-255) of scikit-learn's digits 0, 1 and 2, a folder each."""
    digits = load_digits()
    for c in range(CLASSES):
        (folder / f"digit_{c}").mkdir(parents=True)
        for k, i in enumerate(np.flatnonzero(digits.target == c)[:PER_CLASS]):
            pixels = (digits.images[i] * 255 / 16).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"digit_{c}" / f"{k:03d}.png")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _write_folder(tmp_path_factory.mktemp("images") / "digits")


def _cnn_files(folder, out):
    """Two small CNNs trained elsewhere (here, on the folder's images as arrays), saved."""
    import keras

    files, labels, _ = class_files(folder, "test")
    X = np.stack([np.asarray(Image.open(f), np.float32)[..., None] for f in files])
    paths = []
    for k, filters in enumerate((4, 8), start=1):
        keras.utils.set_random_seed(k)
        image = keras.Input((8, 8, 1))
        x = keras.layers.Rescaling(1 / 255)(image)
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
        x = keras.layers.Flatten()(keras.layers.MaxPooling2D()(x))
        model = keras.Model(image, keras.layers.Dense(CLASSES, activation="softmax")(x))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(X, labels, epochs=15, batch_size=32, verbose=0)
        paths.append(out / f"cnn{k}.keras")
        model.save(paths[-1])
    return paths


def test_two_cnns_trained_elsewhere_stack_on_a_folder_of_pngs_and_predict_serves_files(
    folder, tmp_path
):
    members = [str(p) for p in _cnn_files(folder, tmp_path)]
    work = tmp_path / "work"
    flags = ["--data", str(folder), "--member-files", *members, "--folds", "3"]
    flags += ["--epochs", "15", "--fine-tune-epochs", "2"]  # fold copies: as the members
    done = run_script("run", *flags, workdir=work)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "images: 300 files decoded to 8x8x1 pixel values 0-255" in done.stdout
    assert "classes: digit_0 (100), digit_1 (100), digit_2 (100)" in done.stdout
    assert "the cv protocol trains a fresh copy of each of the 2 members on each of the 3" in (
        done.stdout
    )
    stacked = [float(line.split()[-1]) for line in done.stdout.splitlines() if "Stacked" in line]
    assert len(stacked) == 2 and min(stacked) > 0.8  # digits 0-2 are easy for a trained CNN
    # predict: a folder (class folders or not), or image files, a batch of files at a time.
    served = run_script("predict", "--input", str(folder), workdir=work)
    assert served.returncode == 0, served.stderr[-3000:]
    rows = list(csv.reader(io.StringIO(served.stdout)))
    assert rows[0][:2] == ["file", "class"] and len(rows) == 1 + CLASSES * PER_CLASS
    right = sum(row[1] == row[0].split("/")[-2] for row in rows[1:])
    assert right / (len(rows) - 1) > 0.8
    picked = [folder / "digit_1" / "000.png", folder / "digit_2" / "007.png"]
    two = run_script("predict", "--input", *map(str, picked), workdir=work)
    assert two.returncode == 0, two.stderr[-3000:]
    lines = list(csv.reader(io.StringIO(two.stdout)))[1:]
    assert [line[0] for line in lines] == list(map(str, picked))
    assert lines == [next(r for r in rows if r[0] == line[0]) for line in lines]
    table = tmp_path / "points.csv"
    table.write_text("x1,x2\n1,2\n")
    refused = run_script("predict", "--input", str(table), workdir=work)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "not CSV columns" in refused.stderr


def test_own_cnn_members_train_on_a_split_mapped_from_disk_batch_by_batch(
    folder, tmp_path, monkeypatch, capsys
):
    """Without --member-files, step 3 trains small CNNs; with every input counted as too large
    to copy, the split is a memory map and no training copies it into the compiled loop."""
    from stackgen.methods import compiled_loop
    from stackgen.tutorial import step03_train_members

    monkeypatch.setattr(inputs, "LARGE_BYTES", 1)
    cfg = tiny_config(tmp_path / "w", members=2, data_file=folder, epochs=2, folds=2)
    split = make_split(cfg)
    paths = Paths.of(cfg)
    save_split(split, paths.data)
    loaded = load_split(paths)
    assert isinstance(loaded.train_X, np.memmap) and isinstance(loaded.test_X, np.memmap)
    np.testing.assert_array_equal(loaded.train_X, split.train_X)
    assert loaded.train_X.shape == (225, 8, 8, 1) and loaded.test_X.max() == 255

    def no_whole_copy(*args, **kwargs):
        raise AssertionError("a large input went into the compiled loop")

    monkeypatch.setattr(compiled_loop, "train", no_whole_copy)
    lineage.record(paths, 1, [paths.data], [], {})
    step03_train_members.run(cfg)
    assert (paths.member(1)).is_file() and (paths.member(2)).is_file()
    assert paths.oof.is_file()


def test_batches_read_from_disk_train_as_the_arrays_in_memory_do(monkeypatch):
    """The same batches in the same order: the same weights, to the last bit."""
    from stackgen.data.task import CLASSIFICATION
    from stackgen.methods.members import small_cnn

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(70, 6, 6, 1)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 70)]

    def trained(rows=None):
        training.seed_everything(3)
        model = small_cnn(4)((6, 6, 1), 3)
        fit = dict(task=CLASSIFICATION, epochs=3, batch_size=32, seed=5)
        training.fit(model, X, Y if rows is None else Y[rows], rows=rows, **fit)
        return model.get_weights()

    rows = np.arange(0, 70, 2)
    monkeypatch.setattr(training.compiled_loop, "available", lambda: False)  # plain model.fit
    in_memory, in_memory_rows = trained(), trained(rows)
    monkeypatch.setattr(inputs, "LARGE_BYTES", 1)
    for a, b in zip(trained(), in_memory, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(trained(rows), in_memory_rows, strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_uncompressed_npz_is_mapped_and_hashes_as_when_loaded(tmp_path, monkeypatch):
    X = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    plain, packed = tmp_path / "plain.npz", tmp_path / "packed.npz"
    np.savez(plain, X=X, y=np.arange(4), s=np.array("text"))
    np.savez_compressed(packed, X=X)
    found = mapped_arrays.mapped(plain, "X")
    assert isinstance(found, np.memmap)
    np.testing.assert_array_equal(found, X)
    assert mapped_arrays.mapped(packed, "X") is None  # compressed: loaded instead
    assert mapped_arrays.mapped(plain, "missing") is None
    with zipfile.ZipFile(plain) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    loaded = lineage.content_hash(plain)
    monkeypatch.setattr(inputs, "LARGE_BYTES", 1)
    assert lineage.content_hash(plain) == loaded


def test_a_folder_that_is_not_one_folder_per_class_is_one_line(tmp_path):
    one = tmp_path / "one"
    (one / "cats").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(one / "cats" / "a.png")
    with pytest.raises(StackgenError, match="1 class folder; it needs one folder of images per"):
        class_files(one, "--data one")
    (one / "dogs").mkdir()
    with pytest.raises(StackgenError, match="the class folder 'dogs' holds no images"):
        class_files(one, "--data one")
    done = run_script("run", "--data", str(one), "--upto", "1", workdir=tmp_path / "w")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "'dogs' holds no images" in done.stderr
    assert not (tmp_path / "w" / "data").exists()


def test_any_image_mode_decodes_to_one_shape_and_a_broken_file_is_one_line(tmp_path):
    """Grayscale only if every image is; 16-bit values scaled to 0-255, not clipped; RGBA,
    palette and odd sizes read as RGB of the first image's size."""
    from stackgen.workdir.image_folders import Reader

    folder = tmp_path / "mixed"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    Image.fromarray(np.full((4, 4), 200, np.uint8), mode="L").save(folder / "a" / "1.png")
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(folder / "a" / "2.png")  # I;16
    Image.new("RGBA", (6, 5), (10, 20, 30, 40)).save(folder / "b" / "3.png")
    Image.new("P", (4, 4), 7).save(folder / "b" / "4.gif")
    files, labels, names = class_files(folder, "test")
    assert names == ["a", "b"] and labels.tolist() == [0, 0, 1, 1]
    reader = Reader(files)
    pixels = reader.read(files)
    assert pixels.shape == (4, 4, 4, 3) and reader.resized == 1
    assert pixels[0].max() == 200 and pixels[1].min() == 255  # 16-bit full scale -> 255
    np.testing.assert_array_equal(pixels[2, 0, 0], [10, 20, 30])
    gray = Reader(files[:2])
    assert gray.shape == (4, 4, 1)
    broken = folder / "b" / "5.png"
    broken.write_bytes(b"not a png at all")
    with pytest.raises(StackgenError, match="5.png: not an image this can read"):
        Reader(files).read([*files, broken])
