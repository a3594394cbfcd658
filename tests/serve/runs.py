"""Tiny saved PPO runs on simple_spread (3 agents, 5 actions) for the serving tests."""

from __future__ import annotations

import socket
from pathlib import Path

import jax
import numpy as np

from tests.play.tiny_runs import SPREAD_MLP, save_run

SPREAD_GRU = {**SPREAD_MLP, "model": {"name": "gru", "core": {"hidden_size": 8}}}
"""simple_spread with a GRU actor: its memory must travel through the server."""


def save_serving_runs(runs_dir: Path) -> tuple[str, str]:
    """Two runs with freshly initialised actors (obs-dependent actions): an MLP, a GRU."""
    save_run(runs_dir, "spread-mlp", SPREAD_MLP)
    save_run(runs_dir, "spread-gru", SPREAD_GRU)
    return "spread-mlp", "spread-gru"


def observation_stream(num_steps: int, seed: int = 0) -> np.ndarray:
    """f32[T, 3, 18] varied observations (wide enough that actions differ between steps)."""
    return 3.0 * np.random.default_rng(seed).normal(size=(num_steps, 3, 18)).astype(np.float32)


def local_actions(policy, env, observations: np.ndarray) -> list[np.ndarray]:
    """The local policy's actions stepping through `observations` (one episode, mode)."""
    state = env.reset(jax.random.key(0))[1]
    memory = policy.initial_memory()
    actions = []
    for step, obs in enumerate(observations):
        action, memory = policy.act(
            jax.random.key(step),
            jax.numpy.asarray(obs),
            state,
            memory,
            jax.numpy.asarray(step == 0),
        )
        actions.append(np.asarray(action))
    return actions


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
