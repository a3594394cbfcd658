"""The gradient step every learner shares: global-norm clipping, then Adam, RAdam or Muon.

    optimizer = make_optimizer(config.optimizer, learning_rate, max_grad_norm)

Muon (`optax.contrib.muon`, Jordan 2024) orthogonalises the momentum of each dense weight
matrix by a Newton-Schulz iteration; every other parameter (biases, LayerNorm scales, a
Gaussian policy's log-std, embedding tables, conv kernels) takes plain `optax.adam` with the
config's b1, b2 and eps and the same learning rate (`muon_labels`). The split is made here
rather than by `optax.contrib.muon`, whose own rule (every 2-D leaf) would also take
embedding tables, and whose fallback is AdamW with Nesterov momentum (`nesterov=` is shared
by both parts) and muon's Newton-Schulz `eps`: not the Adam the config describes. Learners
that vmap over seeds call the optimiser per seed, so a dense kernel is 2-D where the labels
are computed.
"""

from __future__ import annotations

from typing import Any

import jax
import optax

from marlax.config.schema import OptimizerConfig

MUON_LABEL = "muon"
ADAM_LABEL = "adam"


def muon_labels(params: Any) -> Any:
    """ "muon" for every 2-D leaf named "kernel" (a dense layer's weight matrix, per seed),
    "adam" for every other leaf.

    Muon is meant for hidden weight matrices (Jordan 2024), so the name is checked as well as
    the rank: 2-D parameters that are not matmul weights (embedding tables `embed_<c>`, the
    SSM's `a_log` decay rates) stay with Adam, as do all vectors and conv kernels (4-D).
    """

    def _label(path: tuple, leaf: jax.Array) -> str:
        name = getattr(path[-1], "key", None) if path else None
        return MUON_LABEL if leaf.ndim == 2 and name == "kernel" else ADAM_LABEL

    return jax.tree_util.tree_map_with_path(_label, params)


def _adam(
    config: OptimizerConfig, learning_rate: optax.ScalarOrSchedule
) -> optax.GradientTransformation:
    return optax.adam(learning_rate, b1=config.b1, b2=config.b2, eps=config.eps)


def _radam(
    config: OptimizerConfig, learning_rate: optax.ScalarOrSchedule
) -> optax.GradientTransformation:
    return optax.radam(learning_rate, b1=config.b1, b2=config.b2, eps=config.eps)


def _muon(
    config: OptimizerConfig, learning_rate: optax.ScalarOrSchedule
) -> optax.GradientTransformation:
    """Muon on the matrices alone, with both parts sharing one learning rate (schedule)."""
    matrices_only = optax.contrib.muon(
        learning_rate,
        ns_steps=config.ns_steps,
        beta=config.muon_beta,
        nesterov=config.nesterov,
        consistent_rms=config.consistent_rms,
    )
    return optax.partition(
        {MUON_LABEL: matrices_only, ADAM_LABEL: _adam(config, learning_rate)}, muon_labels
    )


def make_optimizer(
    config: OptimizerConfig,
    learning_rate: optax.ScalarOrSchedule,
    max_grad_norm: float,
) -> optax.GradientTransformation:
    """Clip the gradient's global norm to `max_grad_norm`, then take an Adam, RAdam or Muon step.

    Args:
        config: which optimiser and its settings (`config.name`: "adam", "radam" or "muon";
            RAdam (Liu et al. 2020) is what JaxMARL's Q-learners use).
        learning_rate: a float, or an optax schedule of the optimiser's step count.
        max_grad_norm: the global-norm clip (> 0), applied to all parameters together.

    Returns:
        optax.chain(clip_by_global_norm, adam | muon). With "adam" and the default b1, b2,
        eps this is exactly `optax.chain(clip_by_global_norm(c), adam(lr, eps=1e-5))`.
    """
    step = {"adam": _adam, "radam": _radam, "muon": _muon}[config.name]
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), step(config, learning_rate))
