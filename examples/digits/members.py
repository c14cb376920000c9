"""The digits demo's data and its four members, as a user of stackgen would write them.

scikit-learn's bundled 8x8 digits (1,797 images, 10 classes; no download) become an .npz of two
named inputs: ``image`` [8, 8, 1] (pixels scaled to 0..1) and ``features`` [7] (a few hand-made
numbers: ink in total and per quadrant, and the ink's centre row and column). Each member is an
ordinary Keras model with Keras's default layer names; only the Input layers are named, after
the data inputs they read:

* ``mlp``: Flatten -> Dense(64, relu) -> Dense(10, softmax), on the pixels;
* ``cnn``: Conv2D(16, 3) -> MaxPooling -> Flatten -> Dense(10) (logits, trained from_logits);
* ``gru``: the image's 8 rows as a sequence of 8 steps -> GRU(32) -> Dense(10, softmax);
* ``two_inputs``: the flattened image beside the features -> Dense(32, relu) -> Dense(10, softmax).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KINDS = ("mlp", "cnn", "gru", "two_inputs")
TEST_SIZE = 0.25
SPLIT_SEED = 0


def features(images: np.ndarray) -> np.ndarray:
    """[n, 7]: total ink, ink per quadrant, and the ink's centre row and column (0..1)."""
    x = images[..., 0]
    total = x.sum(axis=(1, 2)) + 1e-6
    quadrants = [
        x[:, r : r + 4, c : c + 4].sum(axis=(1, 2)) / total for r in (0, 4) for c in (0, 4)
    ]
    rows = (x.sum(axis=2) * np.arange(8)).sum(axis=1) / total / 7
    cols = (x.sum(axis=1) * np.arange(8)).sum(axis=1) / total / 7
    return np.stack([total / 64, *quadrants, rows, cols], axis=1).astype(np.float32)


def split() -> tuple[dict, np.ndarray, dict, np.ndarray]:
    """(train X, train y, test X, test y): both inputs of the digits, split 75/25 stratified
    (seed 0); X is {"image": [n, 8, 8, 1], "features": [n, 7]}."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    rows = np.arange(len(images))
    train, test = train_test_split(
        rows, test_size=TEST_SIZE, stratify=digits.target, random_state=SPLIT_SEED
    )
    feats = features(images)

    def inputs(part):
        return {"image": images[part], "features": feats[part]}

    return inputs(train), digits.target[train], inputs(test), digits.target[test]


def write_data(path: Path) -> Path:
    """digits.npz, for the command line (``--data``): the arrays of ``split()``, as
    train_X_image, train_X_features, train_y, test_X_image, test_X_features, test_y."""
    train_X, train_y, test_X, test_y = split()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        **{f"train_X_{name}": a for name, a in train_X.items()},
        train_y=train_y,
        **{f"test_X_{name}": a for name, a in test_X.items()},
        test_y=test_y,
    )
    return path


def build(kind: str):
    """One member, compiled with its optimizer and loss (what stackgen's cv protocol reuses)."""
    import keras

    image = keras.Input((8, 8, 1), name="image")
    if kind == "mlp":
        x = keras.layers.Flatten()(image)
        x = keras.layers.Dense(64, activation="relu")(x)
        model = keras.Model(image, keras.layers.Dense(10, activation="softmax")(x))
    elif kind == "cnn":
        x = keras.layers.Conv2D(16, 3, activation="relu")(image)
        x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Flatten()(x)
        model = keras.Model(image, keras.layers.Dense(10)(x))  # logits
    elif kind == "gru":
        x = keras.layers.Reshape((8, 8))(image)  # 8 steps (rows) of 8 pixels
        x = keras.layers.GRU(32)(x)
        model = keras.Model(image, keras.layers.Dense(10, activation="softmax")(x))
    elif kind == "two_inputs":
        extra = keras.Input((7,), name="features")
        x = keras.layers.Concatenate()([keras.layers.Flatten()(image), extra])
        x = keras.layers.Dense(32, activation="relu")(x)
        model = keras.Model([image, extra], keras.layers.Dense(10, activation="softmax")(x))
    else:
        raise ValueError(f"unknown member kind {kind!r}; one of {', '.join(KINDS)}")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=kind == "cnn")
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model
