"""The value-based learners on simple_spread: IQL, VDN and QMIX from their shipped configs.

A cell trains like `marlax train -c configs/<alg>_simple_spread.json --seeds S` (the run goes
to `<out>/runs/value-<alg>`), then plays like `marlax eval RUN --all-seeds`: 256 greedy
episodes per seed from PRNG seed 0 (`jitted_run_episodes`), team return = the mean over
agents of each agent's episode return, with its 95% bootstrap interval over the episodes.
The `random` cell plays `RandomPolicy` on the same episodes.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np

from marlax.algorithms.trained import load_run_policies
from marlax.config import TrainConfig, load_config
from marlax.config.q_learning import chunk_length
from marlax.envs.registry import make
from marlax.evaluation.summary import estimate
from marlax.play.policy import RandomPolicy
from marlax.reproduce.episodes import team_returns
from marlax.reproduce.table import Cell, CellContext, CellResult, Metric, Table
from marlax.reproduce.training import train_cell_run

HEADING = "Value-based learners on simple_spread (IQL, VDN, QMIX)"
EVAL_EPISODES = 256
EVAL_SEED = 0
BUDGET = 1_000_000


def _cell(name: str, budget: int = BUDGET, overrides: tuple[str, ...] = ()) -> Cell:
    algorithm = name.removesuffix("-quick")
    spec = {"config": f"{algorithm}_simple_spread", "budget": budget, "overrides": overrides}
    return Cell(name, {**spec, "episodes": EVAL_EPISODES if budget == BUDGET else 8})


CELLS = (
    _cell("qmix"),
    _cell("vdn"),
    _cell("iql"),
    Cell("random", {"config": "qmix_simple_spread", "episodes": EVAL_EPISODES}),
)

QUICK_CELL = _cell(
    "qmix-quick",
    100,
    (
        "env.num_envs=2",
        "q_learning.buffer_size=4",
        "q_learning.batch_size=2",
        "q_learning.learning_starts=0",
        "q_learning.gradient_steps=1",
        "run.log_every=1",
        "run.checkpoint_every=2",
    ),
)
"""Two updates of 2 envs x 25 steps, one gradient step each; 8 evaluation episodes."""


def cell_config(cell: Cell, context: CellContext) -> TrainConfig:
    """The cell's config at `budget x --budget-scale` env steps (at least one update)."""
    path = Path(context.settings.configs_dir) / f"{cell.spec['config']}.json"
    overrides = list(cell.spec["overrides"])
    probe = load_config(path, overrides)
    env = make(probe.envs[0].name, **dict(probe.envs[0].params))
    per_update = chunk_length(probe.q_learning, env) * probe.total_num_envs
    steps = max(int(cell.spec["budget"] * context.settings.budget_scale), per_update)
    overrides += [
        f"q_learning.total_env_steps={steps // per_update * per_update}",
        f"run.runs_dir={context.runs_dir}",
        f"run.name=value-{cell.name}",
    ]
    return load_config(path, overrides, num_seeds=context.seeds)


def run_value_cell(cell: Cell, context: CellContext) -> CellResult:
    """Train the learner and evaluate every seed greedily (or play uniformly at random)."""
    start = time.perf_counter()
    key = jax.random.key(EVAL_SEED)
    if cell.name == "random":
        config = load_config(Path(context.settings.configs_dir) / f"{cell.spec['config']}.json")
        env = make(config.envs[0].name, **dict(config.envs[0].params))
        evaluation = team_returns(key, env, RandomPolicy(env), cell.spec["episodes"])
        value = evaluation.team_return
        return {
            "settings": {},
            "values": {"team_return": {"mean": value.mean, "low": value.low, "high": value.high}},
            "seconds": time.perf_counter() - start,
        }
    config = cell_config(cell, context)
    folder = train_cell_run(config, context.console)
    policies = load_run_policies(context.runs_dir, folder.name, seed_indices=None)
    per_seed = [
        team_returns(key, run_policy.env, run_policy.policy, cell.spec["episodes"]).team_returns
        for run_policy in policies
    ]
    pooled = estimate(np.concatenate(per_seed))
    value = {"mean": pooled.mean, "low": pooled.low, "high": pooled.high}
    if len(per_seed) > 1:
        seed_means = [float(returns.mean()) for returns in per_seed]
        value |= {"std": float(np.std(seed_means)), "per_seed": seed_means}
    return {
        "settings": {"env_steps": policies[0].env_steps},
        "values": {"team_return": value},
        "seeds": context.seeds,
        "run": folder.name,
        "seconds": time.perf_counter() - start,
    }


TABLE = Table(
    name="value-based",
    heading=HEADING,
    cells=CELLS,
    quick_cell=QUICK_CELL,
    run_cell=run_value_cell,
    metrics=(Metric("team_return", "team return"),),
    setting_columns=("env_steps",),
    trains=True,
    recorded_seeds=1,
)
