"""Tiny saved PPO runs on simple_spread (3 agents, 5 actions) for the serving tests."""

from __future__ import annotations

import random
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


# Below Linux's ephemeral range (32768-60999) and above Ray's worker ports (10002-19999): a
# port the OS hands out as ephemeral was seen taken by one of Ray's own processes between
# this probe and Serve's bind ("Failed to bind to address"), failing every serving test.
PORT_RANGE = (20000, 32768)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, drawn at random from PORT_RANGE (random so that
    parallel test workers rarely draw the same one)."""
    draw = random.SystemRandom()
    for _ in range(200):
        port = draw.randrange(*PORT_RANGE)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE} after 200 draws")
