"""A flax classifier with sklearn's `fit` / `predict_proba` / `predict`, for stacking and voting."""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from marlax.ensembles.members import fit_member
from marlax.validate import require_nonnegative_int, require_positive, require_positive_int


class FlaxClassifier:
    """Wraps a flax module that maps f32[n, D] to logits f32[n, C] (C = number of classes).

    `fit` trains it full-batch with AdamW (`members.fit_member`) from a fixed seed, so a
    deep copy fitted twice on the same data gives the same parameters (what stacking's
    refits need). Class labels may be any sortable values; `classes_` holds them sorted.
    """

    def __init__(
        self,
        model: nn.Module,
        steps: int = 300,
        learning_rate: float = 1e-2,
        weight_decay: float = 1e-4,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.steps = require_positive_int("steps", steps)
        self.learning_rate = require_positive("learning_rate", learning_rate)
        self.weight_decay = float(weight_decay)
        self.seed = require_nonnegative_int("seed", seed)

    def fit(self, features: np.ndarray, labels: np.ndarray) -> FlaxClassifier:
        """features: [n, D]; labels: [n]. Returns self."""
        self.classes_, targets = np.unique(np.asarray(labels), return_inverse=True)
        hyper = {
            "learning_rate": jnp.float32(self.learning_rate),
            "weight_decay": jnp.float32(self.weight_decay),
        }
        inputs = jnp.asarray(features, jnp.float32)
        fit = jax.jit(partial(fit_member, self.model, steps=self.steps))
        self.params_, self.loss_curve_ = fit(
            jax.random.key(self.seed),
            inputs,
            jnp.asarray(targets.reshape(-1), jnp.int32),
            hyper,
            jnp.ones((inputs.shape[0],), jnp.float32),
        )
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """f32[n, C] class probabilities, columns in the order of classes_."""
        logits = self.model.apply(self.params_, jnp.asarray(features, jnp.float32))
        return np.asarray(jax.nn.softmax(logits, axis=-1))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """[n] the most probable class label."""
        return self.classes_[np.argmax(self.predict_proba(features), axis=1)]
