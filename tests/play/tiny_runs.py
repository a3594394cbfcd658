"""Tiny PPO runs for the `enjoy` tests: configs, stand-ins for restored runs, saved run folders."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.trainer import Trainer
from marlax.config.load import config_to_dict, load_from_dict
from marlax.envs import registry
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder

_PPO = {"total_env_steps": 16, "rollout_length": 8, "num_minibatches": 1, "num_epochs": 1}

SPREAD_MLP = {
    "env": {"name": "simple_spread", "num_envs": 4},
    "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
    "ppo": {**_PPO, "total_env_steps": 32},
}
"""simple_spread (3 agents, 5 actions), an MLP actor."""

TINY_GRID_GRU = {
    "env": {"name": "tiny_grid", "num_envs": 2, "params": {"max_steps": 3}},
    "model": {
        "name": "gru",
        "core": {"hidden_size": 8},
        "encoder": {"conv_channels": [4], "output_size": 8, "embed_dim": 4},
    },
    "ppo": _PPO,
}
"""`tests.runs.tiny_grid.TinyGrid` (2 agents, 7 grid actions, 3-step episodes), a GRU actor."""


@contextlib.contextmanager
def tiny_grid_registered() -> Iterator[None]:
    """Register TinyGrid as "tiny_grid" (configs name it) for the duration."""
    registry.register("tiny_grid", "tests.runs.tiny_grid:TinyGrid")
    try:
        yield
    finally:
        registry._REGISTRY.pop("tiny_grid", None)


def make_trainer(raw: dict) -> Trainer:
    return Trainer(load_from_dict(raw))


def head_params(
    params: dict, *, bias: Any = None, kernel: Any = None, kernel_scale: float = 1.0
) -> dict:
    """`params` with the actor's policy head bias (and kernel) replaced, the kernel scaled."""
    head = params["actor"]["params"]["head"]["policy"]
    new_head = {
        "bias": head["bias"] if bias is None else jnp.asarray(bias, jnp.float32),
        "kernel": (head["kernel"] if kernel is None else jnp.asarray(kernel)) * kernel_scale,
    }
    actor = {**params["actor"]["params"], "head": {**params["actor"]["params"]["head"]}}
    actor["head"]["policy"] = new_head
    return {**params, "actor": {**params["actor"], "params": actor}}


def restored(trainer: Trainer, params: dict) -> SimpleNamespace:
    """A stand-in for `load_trained`'s result: one seed (S = 1) holding `params`."""
    state = SimpleNamespace(params=jax.tree.map(lambda leaf: leaf[None], params))
    return SimpleNamespace(trainer=trainer, state=state)


def save_run(runs_dir: Path, name: str, raw: dict, *, bias: Any = None) -> Trainer:
    """A run folder with one checkpoint of a fresh TrainState (optionally a fixed head bias)."""
    trainer = make_trainer(raw)
    run = RunFolder.create(runs_dir, name, config_to_dict(trainer.config))
    state = jax.device_get(trainer.init(jax.random.key(0)))
    if bias is not None:
        params = jax.tree.map(lambda leaf: leaf[0], state.params)
        params = head_params(params, bias=bias, kernel_scale=0.0)
        state = state.replace(params=jax.tree.map(lambda leaf: leaf[None], params))
    with Checkpointer(run.checkpoint_dir) as checkpointer:
        checkpointer.save(1, state, {"env_steps": trainer.env_steps_per_update, "update": 1})
    return trainer
