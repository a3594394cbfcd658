"""Environment throughput: env-steps/s of a jitted random rollout with auto-reset.

The measurement of `benchmarks/env_throughput.py` (its default table): a `lax.scan` of
T = 100 steps of `VectorEnv(env, B)` (a full reset computed for every env every step, as
`vmap(AutoReset(env))` does) under uniform random legal actions, inside one jit; timed by
`marlax.bench.measure` (compile once, median of 3 calls); env-steps/s = B * T / median.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax

from marlax.bench import measure
from marlax.envs import VectorEnv, make
from marlax.play.policy import random_actions
from marlax.reproduce.table import Cell, CellContext, CellResult, Metric, Table

HEADING = "Environment throughput (issue 2)"
ENVS = (
    "energy_flow",
    "grid_return",
    "king_of_the_hill",
    "nback",
    "scouts",
    "simple_spread",
    "traveling_salesman",
)
BATCH_SIZES = (1, 64, 1024, 4096)
STEPS = 100
REPEATS = 3


def random_rollout(env_name: str, num_envs: int, num_steps: int) -> Callable:
    """`key -> f32[]`: the summed reward of a T-step random rollout of B auto-reset envs."""
    env = make(env_name)
    vector = VectorEnv(env, num_envs=num_envs)

    def _rollout(key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(key)
        _, state = vector.reset(reset_key)

        def _body(state, step_key):
            """Carries the batched env state; stacks the step's summed reward."""
            action_key, env_key = jax.random.split(step_key)
            action_keys = jax.random.split(action_key, num_envs)
            actions = jax.vmap(random_actions, in_axes=(0, None, 0))(action_keys, env, state)
            _, state, reward, _, _ = vector.step(env_key, state, actions)
            return state, reward.sum()

        _, rewards = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
        return rewards.sum()

    return _rollout


def run_throughput_cell(cell: Cell, context: CellContext) -> CellResult:
    """Compile and time one (env, B) rollout."""
    del context
    start = time.perf_counter()
    env_name, num_envs = cell.spec["env"], cell.spec["num_envs"]
    steps, repeats = cell.spec.get("steps", STEPS), cell.spec.get("repeats", REPEATS)
    timing = measure(random_rollout(env_name, num_envs, steps), jax.random.key(0), repeats=repeats)
    return {
        "settings": {"env": env_name, "num_envs": num_envs, "steps": steps},
        "values": {
            "compile_s": timing.compile_s,
            "env_steps_per_s": num_envs * steps / timing.median_s,
        },
        "seconds": time.perf_counter() - start,
    }


def _cell(env_name: str, num_envs: int, **extra: int) -> Cell:
    return Cell(f"{env_name}-B{num_envs}", {"env": env_name, "num_envs": num_envs, **extra})


TABLE = Table(
    name="env-throughput",
    heading=HEADING,
    cells=tuple(_cell(name, size) for name in ENVS for size in BATCH_SIZES),
    quick_cell=Cell(
        "simple_spread-B1-quick", {"env": "simple_spread", "num_envs": 1, "repeats": 1}
    ),
    run_cell=run_throughput_cell,
    metrics=(Metric("compile_s", "compile s"), Metric("env_steps_per_s", "env-steps/s", 0)),
    setting_columns=("env", "num_envs"),
)
