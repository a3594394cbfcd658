"""PPO training against the number of agents N: the settings, the timing, the N^2 audit.

Host-side helpers for benchmarks/coverage_scaling.py and its tests. They stay free of the
learners (the layering rule for `marlax.bench`): the settings are config override strings,
the trainer is any object with `init(key)` and `update_program(num_updates)`, and the audit
reads a jaxpr.

    overrides = scaling_overrides(num_agents=1000, kind="consensus", num_targets=1000)
    trainer = Trainer(load_config("configs/coverage_ippo.json", overrides))
    row = measure_update(trainer, jax.random.key(0), repeats=3)
    arrays = large_arrays(trainer.update_program(1).trace(state).jaxpr, pair_axes(1000))
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import jax
import jax.extend.core as jax_core

COORDINATION = {
    "none": None,
    "consensus": {"kind": "consensus", "features": 32, "sigma": 1.0, "max_iters": 5},
    "assignment": {
        "kind": "assignment",
        "embedding_dim": 32,
        "temperature": 0.1,
        "num_iterations": 20,
    },
}
"""`model.coordination` of each kind (those of configs/simple_spread_{consensus,assignment})."""
AREA_PER_AGENT = 4.0 / 3.0
"""coverage's default arena area per agent (the side is sqrt(area_per_agent * N))."""
TARGET_SPACING = 0.5
"""coverage's default smallest target lattice cell: the arena holds (side // 0.5)^2 targets."""


def scaling_overrides(
    num_agents: int,
    kind: str,
    num_targets: int,
    *,
    num_envs: int = 2,
    rollout_length: int = 16,
    num_epochs: int = 2,
    num_minibatches: int = 2,
) -> list[str]:
    """`load_config` overrides (on configs/coverage_ippo.json) for one cell of the grid.

    One update per call (`run.log_every = 1`), a budget of exactly one update per
    `Trainer.update` call, and the independent critic (what the grid compares; a centralised
    one adds one global state of 4N + 4M floats per env step, embedded once per env:
    `marlax.algorithms.ppo.centralised`).

    Where the arena (side sqrt(4/3 N)) has fewer target lattice cells than M (M = 64 at
    N = 10), the cells shrink (`target_spacing`) until M fit.

    Args:
        num_agents: N; kind: a key of `COORDINATION`; num_targets: M.
        num_envs, rollout_length, num_epochs, num_minibatches: the PPO update's size; the
            number of minibatches must divide the T * B team-steps of a feed-forward policy.
    """
    if kind not in COORDINATION:
        raise ValueError(f"kind {kind!r}: expected one of {sorted(COORDINATION)}")
    steps = num_envs * rollout_length
    spacing = []
    side = math.sqrt(AREA_PER_AGENT * num_agents)
    if math.floor(side / TARGET_SPACING + 1e-9) ** 2 < num_targets:
        # a small arena holds fewer lattice cells than M: shrink the cells until M fit
        spacing = [f"env.params.target_spacing={side / math.ceil(math.sqrt(num_targets))!r}"]
    return [
        *spacing,
        f"env.num_envs={num_envs}",
        f"env.params.num_agents={num_agents}",
        f"env.params.num_targets={num_targets}",
        f"env.params.k_targets={min(4, num_targets)}",
        f"env.params.k_agents={min(3, num_agents - 1)}",
        f"model.coordination={json.dumps(COORDINATION[kind])}",
        f"ppo.rollout_length={rollout_length}",
        f"ppo.num_epochs={num_epochs}",
        f"ppo.num_minibatches={num_minibatches}",
        f"ppo.total_env_steps={steps}",
        "ppo.critic=independent",
        "run.log_every=1",
        "run.checkpoint_every=1",
    ]


class UpdateTiming(NamedTuple):
    """One compiled PPO update program, timed after compilation."""

    compile_s: float
    """Seconds to lower and compile the update program."""
    median_s: float
    """Median seconds of one full update (rollout + epochs), outputs blocked on."""
    times_s: tuple[float, ...]
    """Every timed update, in order."""
    temp_bytes: int
    """XLA temporary buffer bytes of the compiled program (its scratch memory)."""
    argument_bytes: int
    """XLA argument bytes: the TrainState (parameters, optimiser, env states, keys)."""
    output_bytes: int
    """XLA output bytes (the next TrainState and the metrics)."""


def _memory(compiled: Any) -> tuple[int, int, int]:
    """(temp, argument, output) bytes of a compiled program; zeros where XLA gives none."""
    analysis = compiled.memory_analysis()
    if analysis is None:
        return 0, 0, 0
    fields = ("temp_size_in_bytes", "argument_size_in_bytes", "output_size_in_bytes")
    return tuple(int(getattr(analysis, field, 0)) for field in fields)


def measure_update(trainer: Any, key: jax.Array, repeats: int = 3) -> UpdateTiming:
    """Compile one PPO update ahead of time, run it once to warm up, then time `repeats`.

    The program donates its state, so each call feeds the state the previous one returned:
    the timed updates are consecutive updates of one run (the rollout continues).

    Args:
        trainer: a `marlax.algorithms.ppo.Trainer` (anything with `init(key)` and
            `update_program(num_updates)`).
        key: PRNG key for `trainer.init`.
        repeats: timed updates (>= 1); the median is kept.
    """
    state = trainer.init(key)
    start = time.perf_counter()
    compiled = trainer.update_program(1).lower(state).compile()
    compile_s = time.perf_counter() - start
    temp, argument, output = _memory(compiled)
    state, metrics = compiled(state)
    jax.block_until_ready((state, metrics))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        state, metrics = compiled(state)
        jax.block_until_ready((state, metrics))
        times.append(time.perf_counter() - start)
    return UpdateTiming(compile_s, statistics.median(times), tuple(times), temp, argument, output)


# ---- the N^2 audit ------------------------------------------------------------------------


class FoundArray(NamedTuple):
    """An equation output that matched an audit predicate."""

    primitive: str
    """The equation's primitive (e.g. "dot_general", "exp")."""
    shape: tuple[int, ...]
    """The output's shape."""


def _sub_jaxprs(equation: Any) -> Iterator[Any]:
    """Every jaxpr nested in an equation's parameters: jit (pjit) bodies, scan and while
    bodies, cond branches, custom_jvp/custom_vjp calls, remat."""
    for value in equation.params.values():
        yield from _jaxprs_in(value)


def _jaxprs_in(value: Any) -> Iterator[Any]:
    """Jaxprs in one parameter value: a Jaxpr, a ClosedJaxpr, or a tuple/list of them."""
    if isinstance(value, jax_core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax_core.Jaxpr):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _jaxprs_in(item)


def _open(jaxpr: Any) -> Any:
    """The open Jaxpr of a ClosedJaxpr (or the Jaxpr itself)."""
    return jaxpr.jaxpr if isinstance(jaxpr, jax_core.ClosedJaxpr) else jaxpr


def iter_outputs(jaxpr: Any) -> Iterator[FoundArray]:
    """Every array any equation produces, at every nesting depth (a jaxpr's own inputs are
    the outputs of the equation that encloses it, or the program's arguments)."""
    for equation in _open(jaxpr).eqns:
        for var in equation.outvars:
            shape = tuple(getattr(var.aval, "shape", ()))
            yield FoundArray(equation.primitive.name, tuple(int(d) for d in shape))
        for inner in _sub_jaxprs(equation):
            yield from iter_outputs(inner)


def large_arrays(
    jaxpr: Any, predicate: Callable[[tuple[int, ...]], bool], limit: int = 20
) -> list[FoundArray]:
    """The first `limit` equation outputs (at any depth) whose shape satisfies `predicate`."""
    found = []
    for array in iter_outputs(jaxpr):
        if predicate(array.shape):
            found.append(array)
            if len(found) >= limit:
                break
    return found


def at_least_elements(count: int) -> Callable[[tuple[int, ...]], bool]:
    """Predicate: the array holds >= `count` elements (N*N: as big as an [N, N] matrix)."""
    return lambda shape: math.prod(shape) >= count


def pair_axes(num_agents: int) -> Callable[[tuple[int, ...]], bool]:
    """Predicate: two axes of length >= N (an [.., N, .., M, ..] array with M >= N): the
    shape of an agents x agents (or agents x N-or-more tasks) table, whatever its batch."""
    return lambda shape: sum(1 for dim in shape if dim >= num_agents) >= 2


def largest_output(jaxpr: Any) -> FoundArray:
    """The equation output with the most elements, at any nesting depth."""
    return max(iter_outputs(jaxpr), key=lambda array: math.prod(array.shape))


def shapes_summary(arrays: Sequence[FoundArray]) -> str:
    """'prim f32-shape, ...' for an assertion message."""
    return ", ".join(f"{array.primitive}{list(array.shape)}" for array in arrays)
