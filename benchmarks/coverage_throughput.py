"""coverage throughput: random-action agent-steps/s from N = 10 to 10,000 agents, and the
fitted exponent of time in N.

For each N (with M = N targets), B = clamp(--agents-per-batch // N, 1, --max-envs) envs are
vmapped and a `lax.scan` of T steps with uniform random actions (no auto-reset: the env
step alone) runs inside one jit. Every N is compiled first; then --repeats rounds time
each N once in turn (interleaved, so a shared machine's load hits all N alike). Times
are medians (and the fastest run); compile time and XLA's temporary-buffer size
(`memory_analysis`) of the compiled rollout are reported beside them. The exponent is
the least-squares slope of log(time per env-step) against log(N), over every N and over
N >= 1000 (where fixed per-call overheads no longer dominate).

    nice -n 15 python benchmarks/coverage_throughput.py
    python benchmarks/coverage_throughput.py --agents 10 100 1000 --steps 20 --markdown out.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from marlax.envs.coverage import Coverage


@dataclass(frozen=True)
class Row:
    """One measured N."""

    num_agents: int
    num_envs: int
    compile_s: float
    batch_step_ms: float
    env_step_ms: float
    fastest_env_step_ms: float
    agent_steps_per_s: float
    temp_mb: float


def _rollout_function(env: Coverage, num_envs: int, num_steps: int):
    """`(key, state) -> (state, reward sum)`: T vmapped random-action steps in one scan."""
    step = jax.vmap(env.step)

    def _body(state, step_key):
        """Carries the batched State; stacks each step's mean team reward."""
        action_key, env_key = jax.random.split(step_key)
        actions = jax.random.randint(action_key, (num_envs, env.num_agents), 0, 5)
        _, state, reward, _, _ = step(jax.random.split(env_key, num_envs), state, actions)
        return state, jnp.mean(reward)

    def _rollout(key, state):
        state, rewards = jax.lax.scan(_body, state, jax.random.split(key, num_steps))
        return state, jnp.sum(rewards)

    return _rollout


@dataclass
class Case:
    """One compiled N, waiting to be timed."""

    num_agents: int
    num_envs: int
    num_steps: int
    compiled: Callable
    state: Any
    compile_s: float
    temp_mb: float
    durations: list[float]


def prepare(num_agents: int, num_envs: int, num_steps: int) -> Case:
    """Reset B envs with N agents and compile their T-step rollout (timed: compile_s)."""
    env = Coverage(num_agents=num_agents, num_targets=num_agents)
    key = jax.random.key(0)
    _, state = jax.jit(jax.vmap(env.reset))(jax.random.split(key, num_envs))
    start = time.perf_counter()
    compiled = jax.jit(_rollout_function(env, num_envs, num_steps)).lower(key, state).compile()
    jax.block_until_ready(compiled(key, state))
    memory = compiled.memory_analysis()
    return Case(
        num_agents=num_agents,
        num_envs=num_envs,
        num_steps=num_steps,
        compiled=compiled,
        state=state,
        compile_s=time.perf_counter() - start,
        temp_mb=memory.temp_size_in_bytes / 2**20 if memory is not None else float("nan"),
        durations=[],
    )


def time_once(case: Case, repeat: int) -> None:
    """One timed rollout, appended to `case.durations`."""
    start = time.perf_counter()
    jax.block_until_ready(case.compiled(jax.random.key(repeat + 1), case.state))
    case.durations.append(time.perf_counter() - start)


def summarise(case: Case) -> Row:
    """Median (and fastest) rollout time of a case, per step and per agent."""
    seconds = statistics.median(case.durations)
    steps = case.num_steps * case.num_envs
    return Row(
        num_agents=case.num_agents,
        num_envs=case.num_envs,
        compile_s=case.compile_s,
        batch_step_ms=1e3 * seconds / case.num_steps,
        env_step_ms=1e3 * seconds / steps,
        fastest_env_step_ms=1e3 * min(case.durations) / steps,
        agent_steps_per_s=case.num_agents * steps / seconds,
        temp_mb=case.temp_mb,
    )


def fitted_exponent(rows: list[Row], smallest: int = 0, fastest: bool = False) -> float:
    """Least-squares slope of log(env-step time) in log(N) over rows with N >= smallest
    (median times, or the fastest run of each N)."""
    chosen = [row for row in rows if row.num_agents >= smallest]
    if len(chosen) < 2:
        return float("nan")
    log_n = np.log([row.num_agents for row in chosen])
    times = [row.fastest_env_step_ms if fastest else row.env_step_ms for row in chosen]
    return float(np.polyfit(log_n, np.log(times), 1)[0])


def _table(rows: list[Row]) -> Table:
    table = Table(title="coverage: random-action throughput (M = N, jit + vmap, after compile)")
    for column in (
        "N",
        "envs",
        "compile s",
        "ms / batch step",
        "ms / env step",
        "fastest",
        "agent-steps/s",
        "temp MB",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row.num_agents),
            str(row.num_envs),
            f"{row.compile_s:.1f}",
            f"{row.batch_step_ms:.2f}",
            f"{row.env_step_ms:.3f}",
            f"{row.fastest_env_step_ms:.3f}",
            f"{row.agent_steps_per_s:,.0f}",
            f"{row.temp_mb:.1f}",
        )
    return table


def _markdown(rows: list[Row], exponents: dict[str, float]) -> str:
    lines = [
        "| N | envs | compile s | ms / batch step | ms / env step (median) | (fastest) "
        "| agent-steps/s | temp MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.num_agents} | {row.num_envs} | {row.compile_s:.1f} | {row.batch_step_ms:.2f}"
            f" | {row.env_step_ms:.3f} | {row.fastest_env_step_ms:.3f}"
            f" | {row.agent_steps_per_s:,.0f} | {row.temp_mb:.1f} |"
        )
    lines.append("")
    lines += [
        f"- fitted exponent of env-step time in N, {name}: {value:.2f}"
        for name, value in exponents.items()
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[10, 100, 1000, 5000, 10000])
    parser.add_argument("--agents-per-batch", type=int, default=10_000, help="B = this // N")
    parser.add_argument("--max-envs", type=int, default=64, help="largest B")
    parser.add_argument("--steps", type=int, default=20, help="T: steps per timed rollout")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    with Progress() as progress:
        compiling = progress.add_task("compile", total=len(args.agents))
        cases = []
        for num_agents in args.agents:
            num_envs = max(1, min(args.max_envs, args.agents_per_batch // num_agents))
            progress.update(compiling, description=f"compile N={num_agents}, B={num_envs}")
            cases.append(prepare(num_agents, num_envs, args.steps))
            progress.advance(compiling)
        # rounds interleave the Ns, so a shared machine's load falls on all of them alike
        timing = progress.add_task("time", total=args.repeats * len(cases))
        for repeat in range(args.repeats):
            for case in cases:
                time_once(case, repeat)
                progress.advance(timing)
    rows = [summarise(case) for case in cases]
    exponents = {
        "all N, medians": fitted_exponent(rows),
        "N >= 1000, medians": fitted_exponent(rows, 1000),
        "N >= 1000, fastest runs": fitted_exponent(rows, 1000, fastest=True),
    }
    console = Console()
    console.print(_table(rows))
    for name, value in exponents.items():
        console.print(f"fitted exponent of env-step time in N ({name}): {value:.2f}")
    if args.markdown is not None:
        args.markdown.write_text(_markdown(rows, exponents))


if __name__ == "__main__":
    main()
