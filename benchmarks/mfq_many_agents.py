"""MF-Q on many agents: radius neighbourhoods vs the whole team vs IQL vs random, on coverage.

Every method trains `configs/mfq_coverage.json` (N = 32 agents on 32 targets, 8 envs,
50-step episodes) for the same env steps and the same `--seeds` seeds (the `run.num_seeds`
vmap axis of `QTrainer`, driven by `trainer.update` as `marlax train` drives it); only what
the agents read differs:

- `mfq_radius`: as shipped, `model.mean_field = {"radius": 1.5}` (coverage's view radius):
  each agent also observes the mean one-hot previous action of the team-mates within 1.5;
- `mfq_team`: `model.mean_field = {}`: the mean over the whole team (the other N - 1);
- `iql`: `algorithm = "iql"`, no mean field: the same Q-network on the plain observation;
- `random`: uniform legal actions (no training).

Evaluation: each seed's greedy policy (`QPolicy`, as `marlax eval` loads it) plays the same
`--episodes` fresh episodes (one eval key, shared by every method and seed, so the episodes
are paired: a `MeanFieldEnv` resets and steps its inner coverage env with the same keys),
scanned by `marlax.algorithms.common.tallied_play.play_tallied` (the scan under
`marlax.evaluation.episodes`). Reported per seed: covered = the episode mean of
`info["covered_fraction"]` (as `benchmarks/coverage_learning.py` measures it), the final
step's covered fraction, and the team return = the episode sum of the team reward (covered
fraction minus the collision penalty; every agent gets the same reward).

    python benchmarks/mfq_many_agents.py                       # 3 seeds, the shipped budget
    python benchmarks/mfq_many_agents.py --env-steps 100000    # a shorter run
    python benchmarks/mfq_many_agents.py --quick               # smoke: tiny, writes nothing

Writes `benchmarks/results/mfq_many_agents.{json,md}` (not with --quick unless --out).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from marlax.algorithms.common.tallied_play import PlayedStep, play_tallied
from marlax.algorithms.q_learning.policy import QPolicy
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.config import load_config
from marlax.envs.base import Env
from marlax.play.policy import RandomPolicy

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "mfq_coverage.json"
RESULTS = ROOT / "benchmarks" / "results"
EVAL_SEED = 12345

METHODS: dict[str, tuple[str, ...]] = {
    "mfq_radius": (),
    "mfq_team": ("model.mean_field={}",),
    "iql": ("algorithm=iql", "model.mean_field=null"),
    "random": (),
}
QUICK = (
    "env.params.num_agents=8",
    "env.params.num_targets=8",
    "env.params.max_steps=8",
    "env.num_envs=2",
    "q_learning.batch_size=2",
    "q_learning.gradient_steps=1",
    "q_learning.learning_starts=16",
)
"""--quick: 8 agents, 8-step episodes, 2 envs (seconds, once compiled)."""


# ---- training ---------------------------------------------------------------------------------


def method_config(method: str, env_steps: int | None, num_seeds: int, quick: bool) -> Any:
    """The shipped config with the method's overrides (`random` keeps the shipped env)."""
    overrides = [*(QUICK if quick else ()), *METHODS[method]]
    if env_steps is not None:
        overrides.append(f"q_learning.total_env_steps={env_steps}")
    return load_config(CONFIG, overrides, num_seeds=num_seeds)


def train(
    config: Any, key: jax.Array, advance: Callable[[int], None]
) -> tuple[QTrainer, Any, np.ndarray]:
    """Every seed in one vmapped program, `log_every` updates per host call (as `marlax
    train`); returns (trainer, final state, training returns f32[S, U])."""
    trainer = QTrainer(config)
    state = trainer.init(key)
    returns = []
    done = 0
    while done < trainer.num_updates:
        count = min(config.run.log_every, trainer.num_updates - done)
        state, metrics = trainer.update(state, count)
        returns.append(np.asarray(metrics["return"]))
        done += count
        advance(count)
    return trainer, state, np.concatenate(returns, axis=1)


# ---- evaluation -------------------------------------------------------------------------------


class Tally(NamedTuple):
    """One episode's sums: covered fraction and team reward over its steps, the last cover."""

    covered: jax.Array  # f32[]
    team_return: jax.Array  # f32[]
    final_covered: jax.Array  # f32[]


def _tally(tally: Tally, step: PlayedStep) -> Tally:
    """Adds a live step's covered fraction and team (= every agent's) reward."""
    covered = step.info["covered_fraction"]
    return Tally(
        covered=tally.covered + jnp.where(step.live, covered, 0.0),
        team_return=tally.team_return + jnp.where(step.live, step.reward.mean(), 0.0),
        final_covered=jnp.where(step.live, covered, tally.final_covered),
    )


def _episodes(key: jax.Array, env: Env, policy: Any, num_episodes: int) -> Tally:
    """`num_episodes` episodes of `policy` (one seed): each a `Tally` (f32[E] leaves)."""
    zero = jnp.zeros((), jnp.float32)

    def _one(episode_key: jax.Array) -> Tally:
        return play_tallied(episode_key, env, policy, env.reset, _tally, Tally(zero, zero, zero))

    return jax.vmap(_one)(jax.random.split(key, num_episodes))


def _summary(tally: Tally, max_steps: int) -> dict[str, list[float]]:
    """Per seed: the episode-mean covered fraction, final covered fraction and team return."""
    return {
        "covered": (np.asarray(tally.covered) / max_steps).mean(axis=-1).tolist(),
        "final_covered": np.asarray(tally.final_covered).mean(axis=-1).tolist(),
        "return": np.asarray(tally.team_return).mean(axis=-1).tolist(),
    }


def evaluate_trained(trainer: QTrainer, state: Any, num_episodes: int) -> dict[str, list]:
    """Each seed's greedy `QPolicy` on the shared eval episodes."""
    setup = trainer.setup

    def _seed(params: Any) -> Tally:
        policy = QPolicy(params, setup.networks, setup.env)
        return _episodes(jax.random.key(EVAL_SEED), setup.env, policy, num_episodes)

    tally = jax.jit(jax.vmap(_seed))(state.params)
    return _summary(tally, setup.env.max_steps)


def evaluate_random(env: Env, num_episodes: int, num_seeds: int) -> dict[str, list]:
    """Uniform legal actions on the same episodes, repeated per seed (one policy)."""
    play = jax.jit(_episodes, static_argnums=(1, 3))
    tally = play(jax.random.key(EVAL_SEED), env, RandomPolicy(env), num_episodes)
    tally = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (num_seeds, *leaf.shape)), tally)
    return _summary(tally, env.max_steps)


def run_method(method: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Train (unless random) and evaluate one method; its row of the JSON results."""
    config = method_config(method, args.env_steps, args.seeds, args.quick)
    start = time.perf_counter()
    trainer = QTrainer(config)
    row: dict[str, Any] = {
        "method": method,
        "agents": trainer.setup.env.num_agents,
        "env_steps": trainer.num_updates * trainer.env_steps_per_update,
        "updates": trainer.num_updates,
        "seeds": args.seeds,
        "eval_episodes": args.episodes,
    }
    if method == "random":
        env = trainer.setup.env.env  # the MeanFieldEnv's coverage env
        row["eval"] = evaluate_random(env, args.episodes, args.seeds)
        row["env_steps"] = 0
    else:
        task = progress.add_task(method, total=trainer.num_updates)
        trainer, state, returns = train(
            config, jax.random.key(args.seed), lambda count: progress.advance(task, count)
        )
        row["train_seconds"] = time.perf_counter() - start
        row["train_return_last10"] = returns[:, -10:].mean(axis=1).tolist()
        row["eval"] = evaluate_trained(trainer, state, args.episodes)
        progress.remove_task(task)
    row["seconds"] = time.perf_counter() - start
    return row


# ---- the table --------------------------------------------------------------------------------


def _mean_std(values: list[float]) -> str:
    values = np.asarray(values)
    return f"{values.mean():.3f} +- {values.std():.3f}"


def _per_seed(values: list[float]) -> str:
    return " / ".join(f"{value:.3f}" for value in values)


def _margin(values: list[float], base: list[float] | None) -> str:
    """Mean margin, and how many seeds beat the paired seed of `base` (same eval episodes)."""
    if base is None:
        return "-"
    values, base = np.asarray(values), np.asarray(base)
    return f"{values.mean() - base.mean():+.3f} ({int((values > base).sum())}/{len(values)})"


HEADERS = [
    "method",
    "env steps",
    "covered (per seed)",
    "covered",
    "vs random (seeds won)",
    "vs iql (seeds won)",
    "final covered",
    "return (per seed)",
    "return",
    "wall s",
]


def table_rows(rows: list[dict]) -> list[list[str]]:
    """One line per method."""
    by_method = {row["method"]: row for row in rows}

    def _base(name: str, row: dict) -> list[float] | None:
        base = by_method.get(name)
        return None if base is None or row["method"] == name else base["eval"]["covered"]

    lines = []
    for row in rows:
        covered = row["eval"]["covered"]
        lines.append(
            [
                row["method"],
                f"{row['env_steps']:,}",
                _per_seed(covered),
                _mean_std(covered),
                _margin(covered, _base("random", row)),
                _margin(covered, _base("iql", row)),
                _mean_std(row["eval"]["final_covered"]),
                _per_seed(row["eval"]["return"]),
                _mean_std(row["eval"]["return"]),
                f"{row['seconds']:.0f}",
            ]
        )
    return lines


def markdown(rows: list[dict], header: str) -> str:
    lines = [header, "", "| " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * 9]
    lines += ["| " + " | ".join(line) + " |" for line in table_rows(rows)]
    return "\n".join(lines) + "\n"


def rich_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title)
    for name in HEADERS:
        table.add_column(name, justify="left" if name == "method" else "right")
    for line in table_rows(rows):
        table.add_row(*line)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds per method (vmap axis)")
    parser.add_argument("--seed", type=int, default=0, help="root training seed")
    parser.add_argument("--env-steps", type=int, default=None, help="default: the config's")
    parser.add_argument("--episodes", type=int, default=64, help="eval episodes per seed")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny env and budget")
    parser.add_argument("--out", default=None, help="results prefix (default: results/...)")
    args = parser.parse_args()
    if args.quick:
        args.env_steps = args.env_steps or 2 * 8 * 4
        args.episodes = min(args.episodes, 4)
    out = args.out or (None if args.quick else str(RESULTS / "mfq_many_agents"))

    console = Console(width=None if Console().is_terminal else 200)  # logs: the full table
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} updates"),
        TimeElapsedColumn(),
    )
    rows = []
    with Progress(*columns, console=console) as progress:
        for method in args.methods:
            row = run_method(method, args, progress)
            rows.append(row)
            console.print(
                f"{method}: covered {_per_seed(row['eval']['covered'])}, return"
                f" {_per_seed(row['eval']['return'])} ({row['seconds']:.0f} s)"
            )
    config = method_config(args.methods[0], args.env_steps, args.seeds, args.quick)
    env = config.envs[0].make_env()
    header = (
        f"MF-Q on coverage, N = {env.num_agents} agents, M = {env.num_targets}"
        f" targets, {config.envs[0].num_envs} envs x {env.max_steps} steps,"
        f" {args.seeds} seeds vmapped (root seed {args.seed}), greedy policies on"
        f" {args.episodes} fresh episodes per seed (eval seed {EVAL_SEED}, the same for every"
        f" method), device {jax.devices()[0].platform}. Covered = the episode mean of"
        " info['covered_fraction']; return = the episode sum of the team reward; margins: mean"
        " difference (seeds won, paired on the same eval episodes)."
    )
    console.print(rich_table(rows, "MF-Q on many agents (coverage)"))
    if out is not None:
        json_path, md_path = Path(out).with_suffix(".json"), Path(out).with_suffix(".md")
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"header": header, "rows": rows}, indent=1))
        md_path.write_text(markdown(rows, header))
        console.print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
