"""marlax `battle` against magent2's `battle_v4`: random-action agent-steps/s, same run.

magent2 (its C++ engine through the PettingZoo parallel API, the way a user steps it) runs
`battle_v4.parallel_env(map_size=M)` with M = 45 / 80 / 160, which gives 162 / 512 / 2048
agents; every step sends a uniform random action (of 21) for every live agent, and its
observations are f32[13, 13, 5]. marlax runs `battle` with the same agents per side and map
size inside one jit: a `lax.scan` of T steps of `VectorEnv(env, B, num_resets=1)` (auto-reset
included), uniform random actions, B envs vmapped, timed after compile. Random actions come
from `jax.random.randint` under `--prng` keys: "rbg" by default (XLA's RngBitGenerator; the
default threefry spends ~0.3 ms per step drawing 2048 actions on 2 CPU cores, more than
magent2's numpy draws by far, and that is the harness, not the env). The scan carries each
step's observations, as a rollout buffer would, so XLA cannot skip computing them. Both
count agent-steps of live agents only (magent2 drops dead agents; in marlax a dead agent's
slot is stepped but not counted). Runs are interleaved round by round (magent2, then each
marlax variant), so a load change on a shared machine hits all alike; the table gives the
median rate of each and the median over rounds of the best marlax rate / magent2's rate.

    python benchmarks/battle_throughput.py --markdown benchmarks/results/battle_throughput.md

A second table compares marlax's uint8 observations with float32 ones (the same values / 255)
at the largest agent count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from marlax.envs import VectorEnv, make

MAGENT_MAP_SIZES = {162: 45, 512: 80, 2048: 160}
"""Total agents -> the battle_v4 map_size that gives them (magent2 places 0.04 * M^2 per side)."""
MAX_STEPS = 1000
"""Episode limit of both (magent2's default max_cycles); random play rarely ends sooner."""


class MagentRunner:
    """magent2 battle_v4 at one map size, stepped with uniform random actions (of 21)."""

    def __init__(self, map_size: int, seed: int) -> None:
        from magent2.environments import battle_v4

        self.env = battle_v4.parallel_env(map_size=map_size, max_cycles=MAX_STEPS)
        self.env.reset(seed=seed)
        self.num_agents = len(self.env.agents)
        self.rng = np.random.default_rng(seed)
        self.run(2)  # warm-up

    def _actions(self) -> dict[str, int]:
        agents = self.env.agents
        draws = self.rng.integers(0, 21, len(agents))
        return {agent: int(action) for agent, action in zip(agents, draws, strict=True)}

    def run(self, num_steps: int) -> float:
        """Live agent-steps/s over `num_steps` steps (a new episode if one ends)."""
        stepped = 0
        start = time.perf_counter()
        for _ in range(num_steps):
            actions = self._actions()
            self.env.step(actions)
            stepped += len(actions)
            if not self.env.agents:
                self.env.reset()
        return stepped / (time.perf_counter() - start)


def marlax_rollout(
    agents_per_side: int, map_size: int, num_envs: int, num_steps: int, obs_dtype: str
) -> Callable[[jax.Array], tuple[jax.Array, jax.Array]]:
    """A jitted key -> (live agent-steps i32[], checksum f32[]) of a T-step random rollout."""
    env = make(
        "battle",
        agents_per_side=agents_per_side,
        map_size=map_size,
        max_steps=MAX_STEPS,
        obs_dtype=obs_dtype,
    )
    vector = VectorEnv(env, num_envs=num_envs, num_resets=1)

    def _run(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, loop_key = jax.random.split(key)
        obs, state = vector.reset(reset_key)

        def _body(carry, step_key):
            """Carry: (state, obs) of the B envs; stacked: (live agents, reward sum)."""
            state, _ = carry
            action_key, env_key = jax.random.split(step_key)
            actions = jax.random.randint(action_key, (num_envs, env.num_agents), 0, 21)
            live = jnp.sum(jax.vmap(env.alive)(state))
            obs, state, reward, _, _ = vector.step(env_key, state, actions)
            return (state, obs), (live, reward.sum())

        (_, obs), (live, rewards) = jax.lax.scan(
            _body, (state, obs), jax.random.split(loop_key, num_steps)
        )
        return live.sum(), rewards.sum() + obs[..., 0, 0, :].astype(jnp.float32).sum()

    return jax.jit(_run)


def compile_marlax(
    agents_per_side: int,
    map_size: int,
    num_envs: int,
    num_steps: int,
    obs_dtype: str,
    prng: str,
) -> Callable[[int], float]:
    """Compile (and warm up) a rollout; returns seed -> live agent-steps/s of one run."""
    fn = marlax_rollout(agents_per_side, map_size, num_envs, num_steps, obs_dtype)
    compiled = fn.lower(jax.random.key(0, impl=prng)).compile()
    jax.block_until_ready(compiled(jax.random.key(0, impl=prng)))

    def _run(seed: int) -> float:
        start = time.perf_counter()
        live, _ = jax.block_until_ready(compiled(jax.random.key(seed, impl=prng)))
        return int(live) / (time.perf_counter() - start)

    return _run


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=sorted(MAGENT_MAP_SIZES))
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--steps", type=int, default=400, help="marlax steps per timed run")
    parser.add_argument("--magent-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--prng", choices=("rbg", "threefry2x32"), default="rbg")
    parser.add_argument("--skip-magent", action="store_true")
    parser.add_argument("--markdown", type=str, default=None)
    args = parser.parse_args()
    for total in args.agents:
        if total not in MAGENT_MAP_SIZES:
            parser.error(f"--agents: each one of {sorted(MAGENT_MAP_SIZES)}, got {total}")

    console = Console()
    load_before = _load()
    console.print(
        f"jax {jax.__version__}, {jax.devices()[0].platform}, prng {args.prng}; {load_before}"
    )
    rows, dtype_rows = [], []
    largest = max(args.agents)
    steps_per_round = len(args.num_envs) + (0 if args.skip_magent else 1)
    num_tasks = (len(args.agents) * steps_per_round + 2) * args.repeats
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("measuring", total=num_tasks)
        for total in args.agents:
            map_size, per_side = MAGENT_MAP_SIZES[total], total // 2
            progress.update(task, description=f"compiling, {total} agents")
            runners: dict[str, Callable[[int], float]] = {}
            if not args.skip_magent:
                magent = MagentRunner(map_size, seed=0)
                assert magent.num_agents == total, f"magent2 map {map_size}: {magent.num_agents}"
                runners["magent2"] = lambda seed, magent=magent: magent.run(args.magent_steps)
            for num_envs in args.num_envs:
                runners[f"B={num_envs}"] = compile_marlax(
                    per_side, map_size, num_envs, args.steps, "uint8", args.prng
                )
            rounds = _interleaved(runners, args.repeats, progress, task, f"{total} agents")
            rows.append((total, map_size, rounds))
        largest_rounds = next(row[2] for row in rows if row[0] == largest)
        marlax_rounds = {name: v for name, v in largest_rounds.items() if name != "magent2"}
        best = max(marlax_rounds, key=lambda name: statistics.median(marlax_rounds[name]))
        num_envs = int(best.removeprefix("B="))
        progress.update(task, description=f"compiling, {largest} agents, obs dtypes")
        runners = {
            obs_dtype: compile_marlax(
                largest // 2, MAGENT_MAP_SIZES[largest], num_envs, args.steps, obs_dtype, args.prng
            )
            for obs_dtype in ("uint8", "float32")
        }
        rounds = _interleaved(runners, args.repeats, progress, task, f"{largest} agents")
        gains = [u / f for u, f in zip(rounds["uint8"], rounds["float32"], strict=True)]
        dtype_rows = [
            (obs_dtype, num_envs, statistics.median(values)) for obs_dtype, values in rounds.items()
        ]
    load_after = _load()

    lines = [
        f"{_load_line(load_before, load_after)}",
        "",
        "| agents | map | magent2 agent-steps/s | "
        + " | ".join(f"marlax B={b}" for b in args.num_envs)
        + " | marlax best / magent2 (median over rounds) |",
        "|---|---|---|" + "---|" * len(args.num_envs) + "---|",
    ]
    table = Table(title="battle: live agent-steps/s (medians), uniform random actions")
    for header in ["agents", "map", "magent2", *[f"marlax B={b}" for b in args.num_envs], "ratio"]:
        table.add_column(header, justify="right")
    for total, map_size, rounds in rows:
        magent = rounds.get("magent2", [float("nan")] * args.repeats)
        marlax = [rounds[f"B={b}"] for b in args.num_envs]
        ratios = [max(values) / m for m, *values in zip(magent, *marlax, strict=True)]
        cells = [f"{total}", f"{map_size}", f"{statistics.median(magent):,.0f}"]
        cells += [f"{statistics.median(values):,.0f}" for values in marlax]
        cells.append(f"{statistics.median(ratios):.1f}x")
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    dtype_table = Table(title=f"marlax battle, {largest} agents: observation dtype")
    for header in ["obs dtype", "B", "agent-steps/s", "uint8 gain (per-round median)"]:
        dtype_table.add_column(header, justify="right")
    lines += ["", "| obs dtype | B | agent-steps/s | uint8 / this |", "|---|---|---|---|"]
    for obs_dtype, num_envs, rate in dtype_rows:
        gain = 1.0 if obs_dtype == "uint8" else statistics.median(gains)
        cells = [obs_dtype, f"{num_envs}", f"{rate:,.0f}", f"{gain:.2f}x"]
        dtype_table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(dtype_table)
    console.print(_load_line(load_before, load_after))
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write("\n".join(lines) + "\n")


def _interleaved(
    runners: dict[str, Callable[[int], float]],
    repeats: int,
    progress: Progress,
    task: int,
    label: str,
) -> dict[str, list[float]]:
    """Each runner's rate in each of `repeats` rounds; a round runs every runner once, so a
    load change on the shared machine hits all of them alike."""
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for repeat in range(repeats):
        for name, run in runners.items():
            progress.update(task, description=f"{label}: {name}, round {repeat + 1}")
            rates[name].append(run(repeat + 1))
            progress.advance(task)
    return rates


def _load_line(before: str, after: str) -> str:
    return f"Machine: before the run {before}; after it {after}."


if __name__ == "__main__":
    main()
