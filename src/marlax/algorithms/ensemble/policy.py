"""Several trained policies acting as one: their action distributions combined at every step.

    policy = EnsemblePolicy(members=(p1, p2, p3), weights=jnp.array([0.5, 0.3, 0.2]),
                            rule="soft_vote", discrete=True)
    actions, memory = policy.act(key, obs, env_state, policy.initial_memory(), reset)

Each member is a `ScoredPolicy` (`marlax.algorithms.common.policy`): every learner's trained
policy is one. Members keep their own memory; the ensemble's memory is the tuple of theirs.
A member whose scores are not finite at a step (NaN, inf) is left out of that step and the
weights are renormalised over the others (`marlax.ensembles.rules`, `alive` masks); when no
member is finite, member 0's scores are played as they are.

Rules, discrete actions (scores are log-probabilities f32[N, A]):
    average    the equal-weight mixture sum_k p_k / K; plays its mode, or samples it.
    weighted   the mixture with the given weights (or weights from validation returns).
    bma        the mixture with Bayesian-model-averaging weights (see `load.py`).
    soft_vote  argmax of the weighted mean of probabilities (always the mode).
    vote       the weighted majority of the members' greedy actions, ties to the lowest
               action index (as scikit-learn's hard VotingClassifier).
Continuous actions (scores are the actions each member plays, f32[N, A]): average, weighted
and bma take the weighted mean action; the votes are not defined there.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.ensembles.rules import hard_vote, mixture_log_probs, normalise_weights
from marlax.errors import ConfigError
from marlax.validate import require_choice

MIXTURE_RULES = ("average", "weighted", "bma")
VOTE_RULES = ("soft_vote", "vote")
RULES = (*MIXTURE_RULES, *VOTE_RULES)


def check_rule(rule: str, *, discrete: bool) -> str:
    """`rule` is one of RULES, and a vote only for discrete actions (ConfigError otherwise)."""
    require_choice("rule", rule, RULES)
    if rule in VOTE_RULES and not discrete:
        raise ConfigError("rule", rule, f"one of {MIXTURE_RULES} for continuous actions")
    return rule


@struct.dataclass
class EnsemblePolicy:
    """K member policies of one env combined by `rule` (a `MemoryPolicy`, a pytree).

    Attributes:
        members: K `ScoredPolicy`s acting in the same env.
        weights: f32[K] non-negative member weights (renormalised inside).
        rule: one of RULES (static).
        discrete: whether actions are discrete (static).
        sample: sample the mixture instead of playing its mode (mixture rules only).
    """

    members: tuple[Any, ...]
    weights: jax.Array
    rule: str = struct.field(pytree_node=False, default="average")
    discrete: bool = struct.field(pytree_node=False, default=True)
    sample: bool = struct.field(pytree_node=False, default=False)

    def initial_memory(self) -> tuple[Any, ...]:
        """Every member's initial memory, in member order."""
        return tuple(member.initial_memory() for member in self.members)

    def member_scores(
        self, obs: jax.Array, state: Any, memory: tuple[Any, ...], reset: jax.Array
    ) -> tuple[jax.Array, jax.Array, tuple[Any, ...]]:
        """(scores f32[K, N, A], alive bool[K], the members' next memories)."""
        scores, memories = [], []
        for member, member_memory in zip(self.members, memory, strict=True):
            member_scores, member_memory = member.action_scores(obs, state, member_memory, reset)
            scores.append(member_scores)
            memories.append(member_memory)
        stacked = jnp.stack(scores)
        alive = jnp.all(jnp.isfinite(stacked), axis=tuple(range(1, stacked.ndim)))
        # no finite member: play member 0 as it is rather than an all-NaN combination
        alive = jnp.where(jnp.any(alive), alive, jnp.arange(len(scores)) == 0)
        return stacked, alive, tuple(memories)

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: tuple[Any, ...], reset: jax.Array
    ) -> tuple[jax.Array, tuple[Any, ...]]:
        """Actions i32[N] (or f32[N, A]) of the env's agents, and every member's memory."""
        scores, alive, memory = self.member_scores(obs, state, memory, reset)
        if not self.discrete:
            weights = normalise_weights(self.weights, alive)
            safe = jnp.where(alive[:, None, None], scores, 0.0)
            return jnp.tensordot(weights, safe, axes=1), memory
        if self.rule == "vote":
            greedy = jnp.argmax(scores, axis=-1)
            return hard_vote(greedy, self.weights, scores.shape[-1], alive), memory
        mixture = mixture_log_probs(scores, self.weights, alive)
        if self.sample and self.rule in MIXTURE_RULES:
            return jax.random.categorical(key, mixture, axis=-1).astype(jnp.int32), memory
        return jnp.argmax(mixture, axis=-1).astype(jnp.int32), memory
