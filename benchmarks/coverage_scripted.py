"""What knowing an assignment is worth on coverage: scripted policies, no learning.

    python benchmarks/coverage_scripted.py --agents 10 100 --episodes 16

Each agent drives towards one target with simple_spread's discrete moves (the move whose
force points most along the offset; no-op once within `stop` of it); the policies differ
only in which target:

- **nearest**: the agent's nearest target, re-chosen every step (what an agent can work out
  from its own observation of the k nearest targets: no coordination);
- **assigned**: its target in an optimal one-to-one matching of agents to targets by squared
  distance (Hungarian, `scipy.optimize.linear_sum_assignment`), solved once at reset: the plan
  an assignment layer with a geometric prior aims at;
- **random**: uniform random moves (the learning table's baseline).

Covered = the episode mean of `info["covered_fraction"]`, as `coverage_learning.py` measures
it, on the same reset keys for every policy, at `configs/coverage_ippo.json`'s env settings
with N agents = N targets. The gap between "assigned" and "nearest" bounds what assignment
can add over agents that each chase their nearest target; the gap between either and the
trained policies of `coverage_learning.py` is what PPO has not learned yet.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from scipy.optimize import linear_sum_assignment

from marlax.envs.coverage.constants import MOVES
from marlax.envs.coverage.env import Coverage

RESULTS = Path(__file__).resolve().parent / "results"
POLICIES = ("random", "nearest", "assigned")


def make_env(num_agents: int) -> Coverage:
    """`configs/coverage_ippo.json`'s env at N agents = N targets (k capped for tiny N)."""
    return Coverage(
        num_agents=num_agents,
        num_targets=num_agents,
        k_agents=min(3, num_agents - 1),
        k_targets=min(4, num_agents),
        max_steps=50,
    )


def move_towards(offsets: jax.Array, stop: float) -> jax.Array:
    """i32[N]: the move (0 no-op, 1 left, 2 right, 3 down, 4 up) whose force points most
    along each agent's offset f32[N, 2]; no-op within `stop` of the target."""
    directions = jnp.asarray(MOVES[1:], jnp.float32)  # [4, 2]
    best = 1 + jnp.argmax(offsets @ directions.T, axis=-1)
    close = jnp.linalg.norm(offsets, axis=-1) < stop
    return jnp.where(close, 0, best).astype(jnp.int32)


def nearest_offsets(env: Coverage, state) -> jax.Array:  # noqa: ANN001 (coverage State)
    """f32[N, 2]: from each agent to its nearest target (O(N M): a probe, not the env)."""
    offsets = env.task_offsets(state)
    nearest = jnp.argmin(jnp.sum(offsets**2, axis=-1), axis=-1)
    return jnp.take_along_axis(offsets, nearest[:, None, None], axis=1)[:, 0]


def matching(env: Coverage, state) -> np.ndarray:  # noqa: ANN001
    """i64[N]: each agent's target in a minimum total squared-distance matching."""
    cost = np.sum(np.asarray(env.task_offsets(state)) ** 2, axis=-1)
    rows, cols = linear_sum_assignment(cost)
    plan = np.empty(env.num_agents, np.int64)
    plan[rows] = cols
    return plan


def run_episode(env: Coverage, policy: str, key: jax.Array, stop: float, jitted: dict) -> float:
    """Covered fraction, averaged over one episode's steps."""
    reset_key, key = jax.random.split(key)
    _, state = jitted["reset"](reset_key)
    plan = jnp.asarray(matching(env, state)) if policy == "assigned" else None
    covered = []
    for _ in range(env.max_steps):
        key, step_key, act_key = jax.random.split(key, 3)
        if policy == "random":
            actions = jax.random.randint(act_key, (env.num_agents,), 0, 5, jnp.int32)
        elif policy == "nearest":
            actions = jitted["nearest"](state, stop)
        else:
            actions = jitted["assigned"](state, plan, stop)
        _, state, _, _, info = jitted["step"](step_key, state, actions)
        covered.append(float(info["covered_fraction"]))
    return float(np.mean(covered))


def probe(num_agents: int, episodes: int, stop: float, seed: int, progress: Progress) -> list:
    env = make_env(num_agents)

    def _assigned(state, plan, stop):  # noqa: ANN001, ANN202
        offsets = jnp.take_along_axis(env.task_offsets(state), plan[:, None, None], axis=1)
        return move_towards(offsets[:, 0], stop)

    jitted = {
        "reset": jax.jit(env.reset),
        "step": jax.jit(env.step),
        "nearest": jax.jit(lambda state, stop: move_towards(nearest_offsets(env, state), stop)),
        "assigned": jax.jit(_assigned),
    }
    keys = jax.random.split(jax.random.key(seed), episodes)
    rows = []
    for policy in POLICIES:
        task = progress.add_task(f"N={num_agents} {policy}", total=episodes)
        scores = []
        for key in keys:
            scores.append(run_episode(env, policy, key, stop, jitted))
            progress.advance(task)
        scores = np.asarray(scores)
        rows.append(
            {
                "N": num_agents,
                "policy": policy,
                "covered": float(scores.mean()),
                "se": float(scores.std(ddof=1) / np.sqrt(len(scores))),
                "episodes": episodes,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--stop", type=float, default=0.1, help="no-op within this distance")
    parser.add_argument("--seed", type=int, default=12345, help="reset keys")
    parser.add_argument("--out", type=Path, default=RESULTS / "coverage_scripted")
    args = parser.parse_args()
    rows = []
    with Progress() as progress:
        for num_agents in args.agents:
            rows += probe(num_agents, args.episodes, args.stop, args.seed, progress)
    table = Table(title="coverage: scripted targets (covered fraction, episode mean)")
    for column in ("N", "policy", "covered", "episodes"):
        table.add_column(column)
    for row in rows:
        covered = f"{row['covered']:.3f} +- {row['se']:.3f}"
        table.add_row(str(row["N"]), row["policy"], covered, str(row["episodes"]))
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    lines = ["| N | policy | covered (+- s.e.) | episodes |", "|---|---|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row['N']} | {row['policy']} | {row['covered']:.3f} +- {row['se']:.3f} "
            f"| {row['episodes']} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
