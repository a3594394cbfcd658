"""One PBT member on the Ray backend: a 1-seed PPO training in its own process.

    member = PopulationMember(raw_config, index=2, directory="runs/x/members/2", start=start)
    metrics = member.train(start_update=0, adopted=None, hyperparams=(lr, ent, clip), 10)
    weights = member.weights(10)          # (params, opt_state) for a member that copies this one

The driver (`ray_population`) wraps this class with `ray.remote`; nothing here imports Ray, so
it also runs in-process. Every call names the update it starts from, and the member checkpoints
its state after every round (`directory/<update>/`, orbax, atomic): a member that Ray restarted
after a crash restores its latest checkpoint in the constructor, and a call it is given again
restores the checkpoint of that call's start. So a round is a pure function of (the member's
checkpoint, the adopted weights, the hyperparameters) and redoing it gives the same bits.

The member's state is PPO's `TrainState` with a seed axis of 1, and one update is
`Trainer.seeds_update` with the member's hyperparameters as `HyperparamOverrides`: the very
update an in-graph PBT member makes, without the vmap over members.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import HyperparamOverrides, TrainState
from marlax.config import TrainConfig, load_from_dict
from marlax.runs.checkpoint import Checkpointer

KEPT_CHECKPOINTS = 3
"""Checkpoints a member keeps: a round it redoes needs the one before its latest."""


class MemberStart(NamedTuple):
    """Where a member begins when its folder holds no checkpoint yet."""

    update: int  # the population's update count
    key_data: np.ndarray | None  # u32[2] the member's init key (a fresh run), or None
    state: TrainState | None  # the member's saved state, seed axis 1 (a resumed run), or None


def member_config(raw_config: dict) -> TrainConfig:
    """The member's own config: the PBT run's, as a 1-seed PPO run."""
    raw = {**raw_config, "algorithm": "ppo", "run": {**raw_config["run"], "num_seeds": 1}}
    return load_from_dict(raw)


class PopulationMember:
    """One member's PPO state, trained a round at a time (see the module docstring)."""

    def __init__(self, raw_config: dict, index: int, directory: str, start: MemberStart) -> None:
        self.config = member_config(raw_config)
        self.index = index
        self.trainer = Trainer(self.config, devices=jax.local_devices()[:1])
        self.learning_rate = float(self.config.ppo.learning_rate)
        self.checkpointer = Checkpointer(Path(directory), max_to_keep=KEPT_CHECKPOINTS)
        self._programs: dict[int, Callable] = {}
        latest = self.checkpointer.latest_step()
        if latest is not None:  # Ray restarted this member: continue from its last round
            self.update = latest
            self.state = self._restore(latest)
            return
        self.update = start.update
        if start.state is not None:
            self.state = self.trainer.place(start.state)
        else:
            key = jax.random.wrap_key_data(jnp.asarray(start.key_data))
            self.state = jax.jit(self.trainer.init_seeds)(key[None])
        self._save()

    def pid(self) -> int:
        """This member's process id (tests check that Ray restarted it)."""
        return os.getpid()

    def train(
        self,
        start_update: int,
        adopted: tuple[Any, Any] | None,
        hyperparams: tuple[float, float, float],
        num_updates: int,
    ) -> dict[str, np.ndarray]:
        """One round: `num_updates` updates from the state at `start_update`, then a checkpoint.

        Args:
            start_update: the update the round starts from (its checkpoint is restored when
                the member holds another one: after a restart, or a round given again).
            adopted: (params, opt_state) of the member this one copies, or None to keep its own.
                Its episodes in flight, key and update count stay its own (as in-graph).
            hyperparams: (learning rate, entropy coefficient, clip) for the round.
            num_updates: U, updates in the round.

        Returns:
            PPO's metrics f32[U] each, plus `params_finite` (bool[]).
        """
        state = self._state_at(start_update)
        if adopted is not None:
            params, opt_state = jax.device_put(adopted)
            state = state.replace(params=params, opt_state=opt_state)
        self.state = None  # donated below
        values = np.asarray(hyperparams, np.float32)[:, None]  # f32[3, 1]: seed axis of 1
        state, metrics = self._program(num_updates)(state, *values)
        self.state, self.update = state, start_update + num_updates
        self._save()
        metrics = {name: np.asarray(value)[:, 0] for name, value in jax.device_get(metrics).items()}
        metrics["params_finite"] = np.asarray(all_finite(state.params))
        return metrics

    def weights(self, update: int) -> tuple[Any, Any]:
        """(params, opt_state) at `update` on the host, seed axis 1."""
        state = self._state_at(update)
        return jax.device_get((state.params, state.opt_state))

    def state_at(self, update: int) -> TrainState:
        """The whole state at `update` on the host, seed axis 1 (the driver's checkpoints)."""
        return jax.device_get(self._state_at(update))

    def _state_at(self, update: int) -> TrainState:
        if self.state is None or self.update != update:
            self.state, self.update = self._restore(update), update
        return self.state

    def _restore(self, update: int) -> TrainState:
        restored = self.checkpointer.restore(update, self.trainer.abstract_state())
        return self.trainer.place(restored)

    def _save(self) -> None:
        metadata = {"update": self.update, "member": self.index}
        self.checkpointer.save(self.update, jax.device_get(self.state), metadata)

    def _program(self, num_updates: int) -> Callable:
        """The jitted round of `num_updates` updates (compiled once per round length)."""
        if num_updates not in self._programs:
            self._programs[num_updates] = jax.jit(
                partial(self._round, num_updates=num_updates), donate_argnums=0
            )
        return self._programs[num_updates]

    def _round(
        self,
        state: TrainState,
        learning_rate: jax.Array,
        entropy_coef: jax.Array,
        clip_eps: jax.Array,
        num_updates: int,
    ) -> tuple[TrainState, dict]:
        """`num_updates` member updates; hyperparameters f32[1] each; metrics f32[U, 1]."""
        # the scale as PBTTrainer computes it: in f32, inside the program
        scale = learning_rate / jnp.float32(self.learning_rate)
        overrides = HyperparamOverrides(scale, entropy_coef, clip_eps)

        def _body(carry: TrainState, _: None) -> tuple[TrainState, dict]:
            """Carries the member's state; stacks its metrics f32[1] per update."""
            return self.trainer.seeds_update(carry, overrides)

        return jax.lax.scan(_body, state, None, length=num_updates)
