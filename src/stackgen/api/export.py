"""A fitted stack as one ``keras.Model``: its frozen members behind a head that carries the
meta-learner, giving ``predict_proba``'s numbers (``predict``'s, for a regressor).

Meta-learners a Keras layer can express are exported: the integrated network's head as it is;
logistic regression (multinomial, or binary: a softmax over ``[0, z]`` is ``[1 - σ(z), σ(z)]``)
and any linear regressor as a ``Dense`` layer carrying the fitted coefficients; scikit-learn's
MLP as its ``Dense`` layers; the weighting combiners (average, best member, weighted average,
non-negative weights, greedy selection) as a ``Dense`` layer of their weights. The others (random
forest, gradient boosting, k-nearest neighbours, majority vote, one-vs-rest logistic regression,
multi-response linear regression) are one clear error: no built-in Keras layer computes them, and
a layer of stackgen's own would not load where stackgen is not installed.
"""

from __future__ import annotations

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

from stackgen.methods import integrated, members
from stackgen.methods.final_estimators import NetworkCombiner
from stackgen.methods.metalearners import (
    Average,
    BestMember,
    Combiner,
    SklearnMeta,
    Weights,
)
from stackgen.trust.errors import StackgenError


def to_keras(stack) -> keras.Model:
    """The whole stack as one network (see the module docstring)."""
    task = stack._task
    copies = [members.own_copy(m) for m in stack.members_]
    n_members = len(copies)
    n_out = copies[0].output_shape[-1]
    n_raw = _raw_width(stack) if stack.passthrough else 0
    head = _head(stack._meta, n_members, n_out, n_raw, stack)
    if task.name == "regression":  # the head predicts the standardised target
        head = _in_target_units(head, stack.target_mean_, stack.target_scale_)
    example = {
        name: np.zeros((1, *shape), np.float32) for name, shape in stack._inputs.shapes.items()
    }
    X = example if stack._inputs.kind == "arrays" else example["X"]
    return integrated.assemble(copies, head, task, stack.passthrough, X)


def _raw_width(stack) -> int:
    return int(np.prod(stack._inputs.shapes["X"]))


def _head(meta: Combiner, n_members: int, n_out: int, n_raw: int, stack) -> keras.Model:
    n_inputs = n_members * n_out + n_raw
    if isinstance(meta, NetworkCombiner):
        return members.own_copy(meta.head.model_)
    if isinstance(meta, Weights | Average | BestMember):
        weights = _member_weights(meta, n_members)
        kernel = np.kron(weights.reshape(-1, 1), np.eye(n_out))  # [members * outputs, outputs]
        return _dense_head(n_inputs, [(kernel, np.zeros(n_out), "linear")])
    if isinstance(meta, SklearnMeta):
        estimator = meta.estimator
        if isinstance(estimator, LogisticRegression):
            return _dense_head(n_inputs, [_logistic(estimator)])
        if isinstance(estimator, MLPClassifier | MLPRegressor):
            return _dense_head(n_inputs, _mlp(estimator))
        if stack._task.name == "regression" and _is_linear(estimator):
            coef = np.asarray(estimator.coef_, dtype=np.float64).reshape(-1, 1)
            bias = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64))
            return _dense_head(n_inputs, [(coef, bias, "linear")])
    raise StackgenError(
        f"to_keras(): the {_label(meta)} meta-learner is not a computation Keras's built-in "
        "layers can express; logistic and linear regression, scikit-learn's MLP, the weighting "
        "combiners and the network head are. Use predict_proba, or one of those"
    )


def _member_weights(meta: Combiner, n_members: int) -> np.ndarray:
    if isinstance(meta, Average):
        return np.full(n_members, 1.0 / n_members)
    if isinstance(meta, BestMember):
        return np.eye(n_members)[meta.index_]
    return np.asarray(meta.weights_, dtype=np.float64)


def _logistic(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray, str]:
    coef = np.asarray(model.coef_, dtype=np.float64)
    bias = np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # binary: a softmax over [0, z] is [1 - sigmoid(z), sigmoid(z)]
        coef = np.vstack([np.zeros_like(coef), coef])
        bias = np.concatenate([[0.0], bias])
    return coef.T, bias, "softmax"


def _mlp(model) -> list[tuple[np.ndarray, np.ndarray, str]]:
    hidden = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}
    layers = []
    last = len(model.coefs_) - 1
    for depth, (kernel, bias) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        activation = hidden[model.activation]
        if depth == last:
            activation = {"softmax": "softmax", "identity": "linear"}.get(model.out_activation_)
            if model.out_activation_ == "logistic":  # binary: [1 - p, p] as a softmax
                kernel = np.hstack([np.zeros_like(kernel), kernel])
                bias = np.concatenate([[0.0], bias])
                activation = "softmax"
        layers.append((kernel, bias, activation))
    return layers


def _is_linear(estimator) -> bool:
    coef = getattr(estimator, "coef_", None)
    return (
        coef is not None
        and hasattr(estimator, "intercept_")
        and np.asarray(coef).ndim <= 2
        and np.asarray(coef).reshape(-1).size == np.asarray(coef).size
        and type(estimator).__module__.startswith("sklearn.linear_model")
    )


def _dense_head(n_inputs: int, layers: list) -> keras.Model:
    x = inputs = keras.Input(shape=(n_inputs,), name="stack_head_input")
    for depth, (kernel, bias, activation) in enumerate(layers, start=1):
        name = "stack_output" if depth == len(layers) else f"stack_hidden_{depth}"
        dense = keras.layers.Dense(kernel.shape[1], activation=activation, name=name)
        x = dense(x)
        dense.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return keras.Model(inputs, x, name="stack_head")


def _in_target_units(head: keras.Model, mean: float, scale: float) -> keras.Model:
    inputs = keras.Input(shape=head.input_shape[1:], name="stack_head_input")
    outputs = keras.layers.Rescaling(scale, offset=mean, name="stack_target_units")(head(inputs))
    return keras.Model(inputs, outputs, name="stack_head_units")


def _label(meta: Combiner) -> str:
    if isinstance(meta, SklearnMeta):
        return type(meta.estimator).__name__ if meta.kind == "custom" else meta.kind
    return getattr(meta, "kind", type(meta).__name__)
