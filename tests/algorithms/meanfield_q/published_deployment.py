"""The published deployment loop (emiletimothy/Mean-Field-Subsample-Q-Learning,
`deployment_environment`), line by line in plain Python, for reference semantics.

Every random choice is injected, so the loop can be fed the draws `deploy` makes: `others`
picks agent i's k-1 distinct others, `global_sample` the global agent's k locals, and the
transitions use inverse-CDF draws from the given uniforms.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def count_vectors(bins: int, total: int) -> list[tuple[int, ...]]:
    """Count vectors in the published order (`combinations_with_replacement`)."""
    return [
        tuple(np.bincount(combo, minlength=bins).tolist())
        for combo in itertools.combinations_with_replacement(range(bins), total)
    ]


def floyd(uniforms, population: int, size: int) -> list[int]:
    """`size` distinct integers of range(population) from `size` uniforms (Floyd's algorithm)."""
    chosen: list[int] = []
    for slot in range(size):
        top = population - size + slot
        draw = min(int(np.floor(np.float32(uniforms[slot]) * np.float32(top + 1))), top)
        chosen.append(top if draw in chosen else draw)
    return chosen


def inverse_cdf(probabilities, uniform: float) -> int:
    """The first index whose cumulative probability exceeds `uniform`."""
    return int(np.searchsorted(np.cumsum(probabilities)[:-1], uniform, side="right"))


@dataclass
class StepDraws:
    """The random choices of one step."""

    others: Callable[[int], list[int]]
    """Agent i -> indices of its k-1 sampled others (never i)."""
    global_sample: list[int]
    """The k locals the global agent samples."""
    local_uniform: np.ndarray
    """f32[N]: each agent's transition uniform."""
    global_uniform: float


@dataclass
class Trace:
    """What the loop saw: cumulative returns and the samples' composition."""

    cumulative: list[float]
    mixed_fraction: list[float]
    """Per step: the fraction of agents whose k-sample holds an agent outside the
    population's most common state (a minority state)."""


def published_deployment(env, q, k, gamma, global_state, local_states, draws) -> Trace:
    """Run the published loop for len(draws) steps.

    Args:
        env: EnvTables (rewards and transition distributions, indices as in the config).
        q: reference Q f32[G*S, C*D] for subsample size k.
        global_state, local_states: initial indices (int, list of N ints).
        draws: one StepDraws per step.
    """
    num_local, _, num_actions = env.local_reward.shape
    states = count_vectors(num_local, k)
    index = {counts: i for i, counts in enumerate(states)}
    local_actions = count_vectors(num_actions, k)
    n = len(local_states)
    total, cumulative, mixed_fraction = 0.0, [], []
    greedy_local: dict[int, int] = {}  # the scan below depends on the Q row only: cache it
    for t, step in enumerate(draws):
        majority = int(np.bincount(local_states, minlength=num_local).argmax())
        joint_actions, mixed = [], 0
        for i in range(n):
            sampled = [local_states[j] for j in step.others(i)]
            distribution = [0] * num_local
            distribution[local_states[i]] += 1
            for other in sampled:
                distribution[other] += 1
            mixed += any(state != majority for state in [local_states[i], *sampled])
            state_index = global_state * len(states) + index[tuple(distribution)]
            if state_index not in greedy_local:
                best_q, best_local_action = float("-inf"), None
                for action_index, value in enumerate(q[state_index]):  # strict >: first max
                    if value > best_q:
                        best_q = value
                        d = local_actions[action_index % len(local_actions)]
                        best_local_action = int(np.argmax(d))  # its most common action
                greedy_local[state_index] = best_local_action
            joint_actions.append(greedy_local[state_index])
        distribution = [0] * num_local
        for j in step.global_sample:
            distribution[local_states[j]] += 1
        row = q[global_state * len(states) + index[tuple(distribution)]]
        global_action = int(np.argmax(row)) // len(local_actions)
        reward = sum(
            env.local_reward[local_states[i], global_state, joint_actions[i]] / n for i in range(n)
        )
        reward += env.global_reward[global_state, global_action]
        total += gamma**t * reward
        cumulative.append(total)
        mixed_fraction.append(mixed / n)
        next_global = inverse_cdf(env.global_next[global_state, global_action], step.global_uniform)
        local_states = [
            inverse_cdf(env.local_next[local_states[i], global_state, joint_actions[i]], u)
            for i, u in zip(range(n), step.local_uniform, strict=True)
        ]
        global_state = next_global
    return Trace(cumulative, mixed_fraction)
