"""M independent Dense layers as one layer: the weights of models side by side (side_by_side.py)."""

from __future__ import annotations

import keras
import numpy as np


class StackedDense(keras.layers.Layer):
    """M independent Dense layers applied to [batch, M, in] -> [batch, M, out]."""

    def __init__(
        self,
        kernels: np.ndarray,
        biases: np.ndarray,
        activation: str,
        take: tuple[int, int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.take = take  # (first, count): the members of the input this layer reads
        self.kernel = self.add_weight(shape=kernels.shape, initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=biases.shape, initializer="zeros", name="bias")
        self.kernel.assign(kernels)
        self.bias.assign(biases)
        self.activation = keras.activations.get(activation)

    def get_config(self) -> dict:
        # What the layer is, for compiled_loop's shape key; the kernels are its weights.
        return {"name": self.name, "activation": self.activation.__name__, "take": self.take}

    def call(self, x):
        if self.take:
            first, count = self.take
            x = x[:, first : first + count]
        return self.activation(keras.ops.einsum("bmi,mio->bmo", x, self.kernel) + self.bias)
