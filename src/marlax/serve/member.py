"""One member of a served ensemble: a trained run's policy answering batched requests.

    model = MemberModel("/abs/runs", "bold-otter-07:1")
    scores, memory = model.act(observations, memory=None, reset=reset, legal_action_mask=mask)

`scores` are the policy's `ScoredPolicy.action_scores` for every env of the batch: discrete
actions give log-probabilities f32[B, N, A] (the legal mask applied and renormalised),
continuous ones the action it would play f32[B, N, A]. The policy is restored inside the
replica's own process from the run folder, so a restarted replica needs nothing from the
process that started it. The env state a policy reads besides the observations (only its
action masks) is the env's state after `reset` with key 0; a request's `legal_action_mask`
is what tells a served policy which actions are legal now.

`marlax.serve.app` turns this class into a Ray Serve deployment; here it is plain Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.trained import RunPolicy, load_run_policy, parse_member

_ILLEGAL_SCORE = -1e9
"""Log-probability given to an action the request marks illegal (the ScoredPolicy convention)."""


class MemberModel:
    """A run's policy, restored once, acting on batches of envs with one jitted call."""

    def __init__(self, runs_dir: str, member: str) -> None:
        name, seed_index = parse_member(member, field="runs")
        self.member = member
        self.run_policy: RunPolicy = load_run_policy(Path(runs_dir), name, seed_index=seed_index)
        env = self.run_policy.env
        self.discrete = hasattr(env.action_space, "n")
        self.template_state = env.reset(jax.random.key(0))[1]
        self.initial_memory = self.run_policy.policy.initial_memory()
        self._treedef = jax.tree.structure(self.initial_memory)
        self._leaf_shapes = [np.shape(leaf) for leaf in jax.tree.leaves(self.initial_memory)]
        self._warm_up(env)

    def _warm_up(self, env: Any) -> None:
        """Compile the one-env shape now, so the first request (and a health check) is fast."""
        observations = np.zeros((1, env.num_agents, *env.observation_space.shape))
        observations = observations.astype(env.observation_space.dtype)
        self.act(observations, None, np.ones((1,), bool), None)

    def act(
        self,
        observations: np.ndarray,
        memory: tuple[np.ndarray, ...] | None,
        reset: np.ndarray,
        legal_action_mask: np.ndarray | None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Scores and next memory for B envs.

        Args:
            observations: [B, N, *obs_shape] in the env's observation dtype.
            memory: the memory leaves f32[B, *leaf_shape] (None: the initial memory).
            reset: bool[B], True where an episode starts (memory cleared first).
            legal_action_mask: bool[B, N, A] or None (all legal; continuous actions).

        Returns:
            (scores f32[B, N, A], memory leaves f32[B, *leaf_shape]).
        """
        batch = observations.shape[0]
        if memory is None:
            leaves = [np.broadcast_to(leaf, (batch, *np.shape(leaf))) for leaf in self._leaves()]
        else:
            leaves = list(memory)
        memory_tree = jax.tree.unflatten(self._treedef, [jnp.asarray(leaf) for leaf in leaves])
        scores, next_memory = batched_scores(
            self.run_policy.policy,
            self.template_state,
            jnp.asarray(observations),
            memory_tree,
            jnp.asarray(reset, bool),
            None if legal_action_mask is None else jnp.asarray(legal_action_mask, bool),
        )
        next_leaves = tuple(np.asarray(leaf, np.float32) for leaf in jax.tree.leaves(next_memory))
        return np.asarray(scores, np.float32), next_leaves

    def _leaves(self) -> list[np.ndarray]:
        return [np.asarray(leaf, np.float32) for leaf in jax.tree.leaves(self.initial_memory)]

    def check_health(self) -> None:
        """Ray Serve's health check: the policy still answers a one-env request."""
        env = self.run_policy.env
        observations = np.zeros((1, env.num_agents, *env.observation_space.shape))
        scores, _ = self.act(
            observations.astype(env.observation_space.dtype), None, np.ones((1,), bool), None
        )
        if not np.all(np.isfinite(scores)):
            raise RuntimeError(f"member {self.member} answers non-finite scores")


@jax.jit
def batched_scores(
    policy: Any,
    template_state: Any,
    observations: jax.Array,
    memory: Any,
    reset: jax.Array,
    legal_action_mask: jax.Array | None,
) -> tuple[jax.Array, Any]:
    """The policy's action scores for B envs, vmapped over the env axis.

    Args:
        policy: a `ScoredPolicy` pytree (compiled once per kind of policy).
        template_state: the env State the policy reads (unbatched, shared by all envs).
        observations: [B, N, *obs_shape]; memory: leaves [B, ...]; reset: bool[B].
        legal_action_mask: bool[B, N, A] or None.

    Returns:
        (scores f32[B, N, A], memory leaves [B, ...]).
    """

    def _one_env(obs: jax.Array, env_memory: Any, env_reset: jax.Array) -> tuple[jax.Array, Any]:
        return policy.action_scores(obs, template_state, env_memory, env_reset)

    scores, memory = jax.vmap(_one_env, in_axes=(0, 0, 0))(observations, memory, reset)
    if legal_action_mask is not None:
        # renormalise over the legal actions: softmax of masked logits == p restricted to them
        scores = jax.nn.log_softmax(jnp.where(legal_action_mask, scores, _ILLEGAL_SCORE), axis=-1)
    return scores.astype(jnp.float32), memory
