"""The host side of a learner whose state leads with a seed axis S, shared by every learner
that scans its updates in one jitted program (ES, IQL/VDN/QMIX/MF-Q, MADDPG/SAC, MAML, VariBAD).

    class MyTrainer(SeedAxisTrainer):
        def init_one(self, key): ...              # one seed's fresh state
        def update_one(self, state): ...          # one update of one seed -> (state, metrics f32[])

    state = trainer.init(jax.random.key(0))       # leaves [S, ...], initialised seed by seed
    state, metrics = trainer.update(state, 10)    # 10 updates of every seed: metrics f32[S, 10]

Subclasses set `num_seeds` and `log_every` (attributes or properties) and call
`SeedAxisTrainer.__init__`; a trainer built from a `TrainConfig` (`self.config`) derives from
`ConfigSeedAxisTrainer`, which reads both from `config.run`. An update program is compiled once
per update count and donates its input state.

In a multi-process run (`jax.distributed`) the seed axis is split over every device of every
process (`marlax.algorithms.common.placement`): each process trains its share of the seeds,
metrics come back whole to every process, and the result equals a one-process run.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from marlax.algorithms.common.placement import place, replicated, seed_sharding
from marlax.algorithms.common.seeds import init_seed_by_seed
from marlax.validate import require_positive_int

if TYPE_CHECKING:
    from marlax.config import TrainConfig


class SeedAxisTrainer(abc.ABC):
    """Seeds vmapped, updates scanned, programs cached per update count."""

    num_seeds: int
    log_every: int

    def __init__(self) -> None:
        self._init: Callable | None = None
        self._updates: dict[int, Callable] = {}
        self._sharding: Any = False  # unknown until first needed (num_seeds may be a property)

    @property
    def sharding(self) -> Any:
        """The state's sharding in a multi-process run (seeds split), else None."""
        if self._sharding is False:
            self._sharding = seed_sharding(self.num_seeds)
        return self._sharding

    @abc.abstractmethod
    def init_one(self, key: jax.Array) -> Any:
        """One seed's fresh state (traced: no host work)."""

    @abc.abstractmethod
    def update_one(self, state: Any) -> tuple[Any, dict]:
        """One update of one seed: (state, metrics f32[] each) (traced)."""

    def init_seeds(self, keys: jax.Array) -> Any:
        """`init_one` vmapped over keys key[S] (what `init` equals, seed by seed)."""
        return jax.vmap(self.init_one)(keys)

    def updates_seeds(self, state: Any, num_updates: int) -> tuple[Any, dict]:
        """`num_updates` updates of every seed; metrics f32[S, U] each."""

        def _body(carry: Any, _: None) -> tuple[Any, dict]:
            """Carries every seed's state; stacks metrics f32[S] per update."""
            return jax.vmap(self.update_one)(carry)

        state, metrics = jax.lax.scan(_body, state, None, length=num_updates)
        return state, jax.tree.map(lambda metric: jnp.swapaxes(metric, 0, 1), metrics)

    def update_program(self, num_updates: int) -> Callable:
        """The jitted program for `num_updates` updates of every seed (built once per count)."""
        require_positive_int("num_updates", num_updates)
        if num_updates not in self._updates:
            program = partial(self.updates_seeds, num_updates=num_updates)
            shardings = {}
            if self.sharding is not None:
                shardings = {
                    "in_shardings": (self.sharding,),
                    "out_shardings": (self.sharding, replicated(self.sharding)),
                }
            self._updates[num_updates] = jax.jit(program, donate_argnums=0, **shardings)
        return self._updates[num_updates]

    def init(self, key: jax.Array) -> Any:
        """A fresh state for `num_seeds` seeds split from `key` (leading axis S), seed by seed
        (`marlax.algorithms.common.seeds`: a vmapped init deadlocked XLA:CPU)."""
        if self._init is None:
            self._init = jax.jit(self.init_one)
        return self.place(init_seed_by_seed(self._init, jax.random.split(key, self.num_seeds)))

    def place(self, state: Any) -> Any:
        """A fresh or restored state (every process holding all seeds) split over the
        processes' devices; unchanged in a single-process run."""
        return place(state, self.sharding)

    def update(self, state: Any, num_updates: int | None = None) -> tuple[Any, dict]:
        """Updates of every seed in one jitted call (the input state is donated).

        Returns:
            (state, metrics): each metric f32[S, U], U = num_updates or `log_every`.
        """
        count = self.log_every if num_updates is None else num_updates
        return self.update_program(count)(state)

    def abstract_state(self) -> Any:
        """Shapes and dtypes of the state (for restoring checkpoints)."""
        keys = jax.random.split(jax.random.key(0), self.num_seeds)
        return jax.eval_shape(self.init_seeds, keys)


class ConfigSeedAxisTrainer(SeedAxisTrainer):
    """A `SeedAxisTrainer` whose seeds and updates per call are its config's `run` settings."""

    config: TrainConfig

    @property
    def num_seeds(self) -> int:
        """S: `run.num_seeds`."""
        return self.config.run.num_seeds

    @property
    def log_every(self) -> int:
        """Updates per `update()` call: `run.log_every`."""
        return self.config.run.log_every
