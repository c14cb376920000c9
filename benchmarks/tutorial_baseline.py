"""The tutorial's own code, ported to Keras 3 as literally as it allows: the benchmark's baseline.

NumPy arrays straight into ``model.fit`` (batch size 32, Keras's own shuffling), the test set as
``validation_data`` for the learning curves, five members fit one after another and saved, a
logistic regression on the dstacked predictions, and the integrated network with one input
layer per member fed k copies of the test set. Keras 3 changes forced on the port: ``.keras``
files instead of ``.h5``, and the layers' names are left alone (the tutorial's ``layer._name``
renaming is not needed when all members come from one process, and does nothing in Keras 3).

    python benchmarks/tutorial_baseline.py --workdir DIR --json OUT [--epochs 500 ...]

Writes per-stage wall times and peak memory to OUT (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

T0 = time.perf_counter()
import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402
from numpy import argmax, dstack  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - T0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fit_model(trainX, trainy, epochs):
    model = keras.Sequential()
    model.add(keras.Input(shape=(2,)))
    model.add(keras.layers.Dense(25, activation="relu"))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(trainX, trainy, epochs=epochs, verbose=0)
    return model


def load_all_models(models_dir, n_models):
    return [keras.models.load_model(models_dir / f"model_{i + 1}.keras") for i in range(n_models)]


def stacked_dataset(members, inputX):
    stackX = None
    for model in members:
        yhat = model.predict(inputX, verbose=0)
        stackX = yhat if stackX is None else dstack((stackX, yhat))
    return stackX.reshape((stackX.shape[0], stackX.shape[1] * stackX.shape[2]))


def define_stacked_model(members):
    for model in members:
        for layer in model.layers:
            layer.trainable = False
    ensemble_visible = [model.inputs[0] for model in members]
    ensemble_outputs = [model.outputs[0] for model in members]
    merge = keras.layers.concatenate(ensemble_outputs)
    hidden = keras.layers.Dense(10, activation="relu")(merge)
    output = keras.layers.Dense(3, activation="softmax")(hidden)
    model = keras.Model(inputs=ensemble_visible, outputs=output)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--meta-epochs", type=int, default=300)
    parser.add_argument("--members", type=int, default=5)
    args = parser.parse_args()
    models_dir = args.workdir / "models"  # the tutorial's "models/", inside the work dir
    models_dir.mkdir(parents=True, exist_ok=True)
    stages = []

    def done(name, began):
        stages.append(
            {"stage": name, "seconds": time.perf_counter() - began, "peak_rss_mib": peak_rss_mib()}
        )

    began = time.perf_counter()
    X, y = make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0, random_state=2)
    y_enc = keras.utils.to_categorical(y)
    n_train = 100
    trainX, testX = X[:n_train, :], X[n_train:, :]
    trainy, testy = y_enc[:n_train], y_enc[n_train:]
    testy_int = y[n_train:]
    print(trainX.shape, testX.shape)
    for class_value in range(3):
        row_ix = y == class_value
        pyplot.scatter(X[row_ix, 0], X[row_ix, 1])
    pyplot.savefig(args.workdir / "blobs.png")
    pyplot.close()
    done("1 data", began)

    began = time.perf_counter()
    model = keras.Sequential()
    model.add(keras.Input(shape=(2,)))
    model.add(keras.layers.Dense(25, activation="relu"))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(
        trainX, trainy, validation_data=(testX, testy), epochs=args.epochs, verbose=0
    )
    _, train_acc = model.evaluate(trainX, trainy, verbose=0)
    _, test_acc = model.evaluate(testX, testy, verbose=0)
    print("Train: %.3f, Test: %.3f" % (train_acc, test_acc))
    pyplot.plot(history.history["accuracy"], label="train")
    pyplot.plot(history.history["val_accuracy"], label="test")
    pyplot.legend()
    pyplot.savefig(args.workdir / "learning_curves.png")
    pyplot.close()
    done("2 single MLP", began)

    began = time.perf_counter()
    for i in range(args.members):
        model = fit_model(trainX, trainy, args.epochs)
        filename = models_dir / f"model_{i + 1}.keras"
        model.save(filename)
        print(">Saved %s" % filename)
    done("3 members", began)

    began = time.perf_counter()
    members = load_all_models(models_dir, args.members)
    for model in members:
        _, acc = model.evaluate(testX, testy, verbose=0)
        print("Model Accuracy: %.3f" % acc)
    stackedX = stacked_dataset(members, testX)
    meta = LogisticRegression().fit(stackedX, testy_int)
    yhat = meta.predict(stacked_dataset(members, testX))
    print("Stacked Test Accuracy: %.3f" % accuracy_score(testy_int, yhat))
    done("4 logistic stack", began)

    began = time.perf_counter()
    members = load_all_models(models_dir, args.members)
    stacked_model = define_stacked_model(members)
    stacked_model.fit([testX] * len(members), testy, epochs=args.meta_epochs, verbose=0)
    yhat = argmax(stacked_model.predict([testX] * len(members), verbose=0), axis=1)
    print("Stacked Test Accuracy: %.3f" % accuracy_score(testy_int, yhat))
    done("5 integrated stack", began)

    args.json.write_text(json.dumps({"import_seconds": IMPORT_SECONDS, "stages": stages}))


if __name__ == "__main__":
    main()
