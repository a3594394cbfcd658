"""Multinomial logistic regression with L2, fitted in JAX with L-BFGS: the stacking meta-learner.

The objective is sklearn's `LogisticRegression(C)` default (lbfgs, L2, intercept not
penalised), up to the constant factor 1 / (C n):

    mean_i CE(y_i, softmax(x_i W + b)) + ||W||^2 / (2 C n)

For two classes sklearn fits one coefficient vector (binary logistic loss), not two
multinomial columns (which would halve the effective penalty), so we do the same: the
first class's logit is pinned at 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu

from marlax.validate import require, require_positive, require_positive_int


def _logits(params: dict[str, jax.Array], features: jax.Array) -> jax.Array:
    """f32[n, C] logits; with one output column the first class's logit is 0."""
    scores = features @ params["coef"] + params["intercept"][None, :]
    if scores.shape[1] == 1:
        return jnp.concatenate([jnp.zeros_like(scores), scores], axis=1)
    return scores


def _objective(params, features, targets, l2_strength) -> jax.Array:
    log_probs = jax.nn.log_softmax(_logits(params, features), axis=-1)
    nll = -jnp.mean(jnp.take_along_axis(log_probs, targets[:, None], axis=1))
    return nll + 0.5 * l2_strength * jnp.sum(params["coef"] ** 2)


def fit_logistic(
    features: jax.Array, targets: jax.Array, num_classes: int, c: float, max_steps: int, tol: float
) -> tuple[dict[str, jax.Array], jax.Array]:
    """L-BFGS to convergence (gradient norm < tol) or max_steps.

    Args:
        features: f32[n, D]. targets: i32[n] in [0, C).

    Returns:
        (params {"coef": f32[D, C'], "intercept": f32[C']}, steps taken i32[]) with C' = 1
        for two classes, else C.
    """
    outputs = 1 if num_classes == 2 else num_classes
    params = {
        "coef": jnp.zeros((features.shape[1], outputs), jnp.float32),
        "intercept": jnp.zeros((outputs,), jnp.float32),
    }
    l2_strength = 1.0 / (c * features.shape[0])

    def objective(p):
        return _objective(p, features, targets, l2_strength)

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    def _step(carry):
        """Carries (params, solver state); one L-BFGS step with a zoom line search."""
        p, state = carry
        value, grad = value_and_grad(p, state=state)
        updates, state = solver.update(grad, state, p, value=value, grad=grad, value_fn=objective)
        return optax.apply_updates(p, updates), state

    def _continue(carry):
        _, state = carry
        count = otu.tree_get(state, "count")
        grad_norm = otu.tree_norm(otu.tree_get(state, "grad"))
        return (count == 0) | ((count < max_steps) & (grad_norm >= tol))

    params, state = jax.lax.while_loop(_continue, _step, (params, solver.init(params)))
    return params, otu.tree_get(state, "count")


_fit_logistic_jit = jax.jit(fit_logistic, static_argnums=(2, 3, 4, 5))


class LogisticRegression:
    """sklearn-like `fit` / `predict_proba` / `predict` around `fit_logistic`.

    Labels may be any sortable values; classes_ holds them sorted, as in sklearn.
    """

    def __init__(self, c: float = 1.0, max_steps: int = 1000, tol: float = 1e-6) -> None:
        self.c = require_positive("c", c)
        self.max_steps = require_positive_int("max_steps", max_steps)
        self.tol = require_positive("tol", tol)

    def fit(self, features: np.ndarray, labels: np.ndarray) -> LogisticRegression:
        """features: f32[n, D]; labels: [n]. Returns self."""
        self.classes_, targets = np.unique(np.asarray(labels), return_inverse=True)
        require(len(self.classes_) >= 2, "labels", self.classes_.tolist(), ">= 2 classes")
        self.params_, self.steps_ = _fit_logistic_jit(
            jnp.asarray(features, jnp.float32),
            jnp.asarray(targets.reshape(-1), jnp.int32),
            len(self.classes_),
            float(self.c),
            self.max_steps,
            float(self.tol),
        )
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """f32[n, C] class probabilities, columns in the order of classes_."""
        logits = _logits(self.params_, jnp.asarray(features, jnp.float32))
        return np.asarray(jax.nn.softmax(logits, axis=-1))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """[n] the most probable class label."""
        return self.classes_[np.argmax(self.predict_proba(features), axis=1)]
