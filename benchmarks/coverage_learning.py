"""Learning on coverage: IPPO vs IPPO + assignment vs IPPO + consensus vs mean-field, N agents.

Each cell is (N, method). N agents cover N targets (`configs/coverage_ippo.json` with
`num_agents = num_targets = N`); the method adds one thing to the same IPPO learner:

- `ippo`: the plain MLP policy (each agent sees its 4 nearest targets and 3 nearest agents);
- `assignment`: `model.coordination` kind "assignment": agents softly assigned to the N
  targets by Sinkhorn, each agent's assigned target embedding joins its features;
- `assignment_prior`: the same assignment with `distance_weight = 1.0`: the utility gains
  `-|p_i - t_j|^2` (world units), so the plan starts as the nearest-target transport;
- `assignment_relative`: the prior plus `"relative": true`: each agent also reads where its
  assigned target lies from it (`plan @ (t_j - p_i)`, as a direction and a log distance);
- `assignment_local`: `assignment_relative` over each agent's 8 nearest targets within 3
  units only (`"nearest": 8, "radius": 3.0`): a [N, 8] plan by a sparse Sinkhorn, O(N k)
  instead of the [N, N] plan's O(N M);
- `consensus`: `model.coordination` kind "consensus": the team's robust consensus message;
- `mean_field`: `model.mean_field = {"radius": 1.5}` (the view radius): each agent also
  observes its neighbours' mean one-hot previous action.

A cell trains `--seeds` seeds at once (the `run.num_seeds` vmap axis) for the same number
of PPO updates at every N, with `num_envs` scaled down as N grows so an update's
agent-samples stay comparable (N x num_envs x 50 steps: 16,000 at N = 10 (32 envs),
20,000 at N = 100 (4 envs), 50,000 at N = 1000 (1 env)); every method of one N gets the same
env steps. Then the final policy of each seed (sampled actions) and a uniform-random policy
play the same fresh episodes (`EVAL_ENVS[N]` envs, one 50-step episode each, same reset keys).

`--reward difference` trains every method of the run on coverage's difference reward (each
agent gets G - G without it, `marlax.envs.coverage.rules.difference_reward`) instead of the
shared team reward G; cells are kept apart by reward, and "vs ippo" compares within a reward.

Reported per policy: covered fraction = `info["covered_fraction"]` averaged over the 50 steps
of the episode (the episode mean; the end-of-episode value is kept in the JSON as
`final_covered`), and the return = the episode sum of the team reward G (`info["team_reward"]`:
covered fraction minus the collision penalty, whichever reward trained). Tables give mean +-
std over seeds, the margin vs random and each method's margin vs ippo at the same N and reward.

    python benchmarks/coverage_learning.py                       # N = 10, 100; all methods
    python benchmarks/coverage_learning.py --agents 10 --methods ippo --budget-scale 0.25
    python benchmarks/coverage_learning.py --agents 1000 --methods ippo --budget-scale 0.1
    python benchmarks/coverage_learning.py --agents 100 --methods ippo --reward difference

Self-contained: needs only the installed `marlax` and the repository's `configs/`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cell_progress import CellProgress
from marlax.algorithms.ppo.rollout import action_noise, joint_inputs, sample_with_noise, step_team
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config
from marlax.models.heads import distribution
from marlax.play.policy import random_actions

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "coverage_ippo.json"
RESULTS = ROOT / "benchmarks" / "results"
EVAL_SEED = 12345
ROLLOUT = 50  # = the episode length of configs/coverage_ippo.json
REWARDS = ("team", "difference")  # coverage's `reward` setting

METHODS: dict[str, tuple[str, ...]] = {
    "ippo": (),
    "assignment": (
        'model.coordination={"kind": "assignment", "embedding_dim": 32, "temperature": 0.1,'
        ' "num_iterations": 20}',
    ),
    "assignment_prior": (
        'model.coordination={"kind": "assignment", "embedding_dim": 32, "temperature": 0.1,'
        ' "num_iterations": 20, "distance_weight": 1.0}',
    ),
    "assignment_relative": (
        'model.coordination={"kind": "assignment", "embedding_dim": 32, "temperature": 0.1,'
        ' "num_iterations": 20, "distance_weight": 1.0, "relative": true}',
    ),
    # k = 8 of the targets within 3 units: M = N targets in an arena of area 4/3 N (half-side
    # 18.3 at N = 1000) are 0.75 per unit^2 at every N, so a radius of 3 holds ~21 on average
    "assignment_local": (
        'model.coordination={"kind": "assignment", "embedding_dim": 32, "temperature": 0.1,'
        ' "num_iterations": 20, "distance_weight": 1.0, "relative": true, "nearest": 8,'
        ' "radius": 3.0}',
    ),
    "consensus": (
        'model.coordination={"kind": "consensus", "features": 32, "sigma": 1.0, "max_iters": 5}',
    ),
    "mean_field": ('model.mean_field={"radius": 1.5}',),
}


@dataclass(frozen=True)
class Scale:
    """The settings of one team size N."""

    num_envs: int
    """Training envs: N x num_envs x 50 agent-samples per update."""
    updates: int
    """PPO updates at --budget-scale 1 (the same for every method of this N)."""
    eval_envs: int
    """Fresh evaluation episodes per seed."""
    overrides: tuple[str, ...] = ()
    """Extra config overrides at this N."""

    def env_steps(self, budget_scale: float) -> int:
        return max(1, round(self.updates * budget_scale)) * self.num_envs * ROLLOUT


SCALES: dict[int, Scale] = {
    10: Scale(num_envs=32, updates=40, eval_envs=64),
    100: Scale(num_envs=4, updates=40, eval_envs=16),
    # 1 env x 50 steps = 50 team-steps: 2 minibatches of 25 (4 would not divide them)
    1000: Scale(num_envs=1, updates=40, eval_envs=2, overrides=("ppo.num_minibatches=2",)),
}


# ---- training ---------------------------------------------------------------------------------


def cell_config(
    num_agents: int, method: str, budget_scale: float, num_seeds: int, reward: str = "team"
) -> Any:
    """The validated config of one (N, method, reward) cell."""
    scale = SCALES[num_agents]
    updates = max(1, round(scale.updates * budget_scale))
    log_every = max(d for d in range(1, min(updates, 10) + 1) if updates % d == 0)
    overrides = [
        f"env.params.num_agents={num_agents}",
        f"env.params.num_targets={num_agents}",
        f"env.num_envs={scale.num_envs}",
        f"env.params.reward={reward}",
        f"ppo.rollout_length={ROLLOUT}",
        *scale.overrides,
        *METHODS[method],
        f"ppo.total_env_steps={scale.env_steps(budget_scale)}",
        f"run.log_every={log_every}",
        f"run.checkpoint_every={log_every}",
    ]
    return load_config(CONFIG, overrides, num_seeds=num_seeds)


def train(
    config: Any, key: jax.Array, advance: Callable[[int], None] | None = None
) -> tuple[Trainer, Any]:
    """Every seed of `config` in one vmapped program; returns (trainer, final state).

    `advance(k)` is called after each host call of k updates (a progress bar)."""
    trainer = Trainer(config)
    state = trainer.init(key)
    for _ in range(trainer.num_updates // config.run.log_every):
        state, metrics = trainer.update(state)
        jax.block_until_ready(metrics)
        if advance is not None:
            advance(config.run.log_every)
    return trainer, state


# ---- evaluation -------------------------------------------------------------------------------


def _eval_layout(trainer: Trainer, num_envs: int) -> TaskLayout:
    (task,) = trainer.layout.tasks
    return TaskLayout((replace(task, num_envs=num_envs),))


def _policy_episode(layout: TaskLayout, trainer: Trainer, params: Any, key: jax.Array) -> tuple:
    """One episode from reset in every env under the trained policy (sampled actions).

    Returns:
        (covered fraction f32[T, B], team reward f32[T, B]).
    """
    (task,) = layout.tasks
    networks = trainer.networks
    reset_key, roll_key = jax.random.split(key)
    obs, env_state = task.vector_env.reset(reset_key)
    batch = (task.num_envs, task.env.num_agents)
    carries = networks.initialize_carry(batch)

    def _body(carry: tuple, step_key: jax.Array) -> tuple:
        """Carries (env state, obs, actor/critic memories, reset flags); stacks the step's
        covered fraction f32[B] and team reward G f32[B]."""
        env_state, obs, actor_carry, critic_carry, reset = carry
        noise_key, env_key = jax.random.split(step_key)
        model_obs, critic_state, legal = joint_inputs(layout, networks, [env_state], [obs])
        actor_carry, critic_carry, output, _ = networks.evaluate(
            params,
            actor_carry,
            critic_carry,
            model_obs,
            critic_state,
            reset,
            team=step_team(layout, networks, [env_state]),
        )
        action = sample_with_noise(
            distribution(output, legal), action_noise(noise_key, layout, 1)[0]
        )
        obs, env_state, _, _, info = task.vector_env.step(
            env_key, env_state, layout.env_actions(0, action)
        )
        carry = (env_state, obs, actor_carry, critic_carry, jnp.zeros(batch, bool))
        return carry, (info["covered_fraction"], info["team_reward"])

    start = (env_state, obs, *carries, jnp.ones(batch, bool))
    steps = jax.random.split(roll_key, task.env.max_steps)
    _, (covered, reward) = jax.lax.scan(_body, start, steps)
    return covered, reward


def _random_episode(layout: TaskLayout, key: jax.Array) -> tuple:
    """The same episodes (same reset key) under uniform legal actions: (covered, reward)."""
    (task,) = layout.tasks
    reset_key, roll_key = jax.random.split(key)
    _, env_state = task.vector_env.reset(reset_key)

    def _body(state: Any, step_key: jax.Array) -> tuple:
        """Carries the env state; stacks covered fraction f32[B] and team reward G f32[B]."""
        action_key, env_key = jax.random.split(step_key)
        action_keys = jax.random.split(action_key, task.num_envs)
        actions = jax.vmap(random_actions, in_axes=(0, None, 0))(action_keys, task.env, state)
        _, state, _, _, info = task.vector_env.step(env_key, state, actions)
        return state, (info["covered_fraction"], info["team_reward"])

    steps = jax.random.split(roll_key, task.env.max_steps)
    _, (covered, reward) = jax.lax.scan(_body, env_state, steps)
    return covered, reward


def _summary(covered: jax.Array, reward: jax.Array) -> dict[str, np.ndarray]:
    """Per seed (f32[S]): mean-over-episode and final covered fraction, return; from [S, T, B]."""
    return {
        "covered": np.asarray(covered.mean(axis=(1, 2))),
        "final_covered": np.asarray(covered[:, -1].mean(axis=1)),
        "return": np.asarray(reward.sum(axis=1).mean(axis=1)),
    }


def evaluate(trainer: Trainer, params: Any, num_envs: int, num_seeds: int) -> dict[str, dict]:
    """Trained vs random on the same fresh episodes, one eval key per seed (shared by both)."""
    layout = _eval_layout(trainer, num_envs)
    keys = jax.random.split(jax.random.key(EVAL_SEED), num_seeds)
    policy = jax.jit(jax.vmap(lambda p, k: _policy_episode(layout, trainer, p, k)))
    random = jax.jit(jax.vmap(lambda k: _random_episode(layout, k)))
    return {"trained": _summary(*policy(params, keys)), "random": _summary(*random(keys))}


def method_label(method: str, reward: str) -> str:
    """'ippo', or 'ippo (difference reward)' when the reward is not the team reward."""
    return method + ("" if reward == "team" else f" ({reward} reward)")


def cell_label(num_agents: int, method: str, reward: str) -> str:
    """'N=100 ippo', with the reward named when it is not the team reward."""
    return f"N={num_agents} {method_label(method, reward)}"


def run_cell(
    num_agents: int,
    method: str,
    budget_scale: float,
    num_seeds: int,
    seed: int,
    progress: Progress,
    reward: str = "team",
) -> dict:
    """Train and evaluate one cell; the row of the JSON results.

    Besides `progress`'s bar, a line about every tenth of the updates reaches the console
    (a log file gets no live bar)."""
    config = cell_config(num_agents, method, budget_scale, num_seeds, reward)
    start = time.perf_counter()
    bar = CellProgress(progress, cell_label(num_agents, method, reward), config.num_updates)
    trainer, state = train(config, jax.random.key(seed), bar.advance)
    train_seconds = time.perf_counter() - start
    result = evaluate(trainer, state.params, SCALES[num_agents].eval_envs, num_seeds)
    bar.close()
    return {
        "agents": num_agents,
        "method": method,
        "reward": reward,
        "env_steps": config.num_updates * config.steps_per_update,
        "agent_samples_per_update": config.steps_per_update * num_agents,
        "num_envs": config.envs[0].num_envs,
        "updates": config.num_updates,
        "seeds": num_seeds,
        "eval_episodes": SCALES[num_agents].eval_envs,
        "trained": {k: v.tolist() for k, v in result["trained"].items()},
        "random": {k: v.tolist() for k, v in result["random"].items()},
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - start,
    }


# ---- the table --------------------------------------------------------------------------------


def _mean_std(values: list[float]) -> str:
    values = np.asarray(values)
    return f"{values.mean():.3f} +- {values.std():.3f}"


def _margin(values: list[float], base: list[float]) -> str:
    """Mean margin, and how many seeds beat the paired seed of `base` (same eval key)."""
    values, base = np.asarray(values), np.asarray(base)
    wins = int((values > base).sum())
    return f"{values.mean() - base.mean():+.3f} ({wins}/{len(values)})"


def _reward(row: dict) -> str:
    """The row's training reward (rows written before the option trained on the team's)."""
    return row.get("reward", "team")


def table_rows(rows: list[dict]) -> list[list[str]]:
    """One line per cell: N, method, env steps, covered (random, trained, margins), return."""
    ippo = {(row["agents"], _reward(row)): row for row in rows if row["method"] == "ippo"}
    lines = []
    for row in rows:
        base = ippo.get((row["agents"], _reward(row)))
        versus = (
            _margin(row["trained"]["covered"], base["trained"]["covered"])
            if base is not None and row["method"] != "ippo"
            else "-"
        )
        lines.append(
            [
                str(row["agents"]),
                method_label(row["method"], _reward(row)),
                f"{row['env_steps']:,}",
                _mean_std(row["random"]["covered"]),
                _mean_std(row["trained"]["covered"]),
                _margin(row["trained"]["covered"], row["random"]["covered"]),
                versus,
                _mean_std(row["trained"]["final_covered"]),
                _mean_std(row["random"]["return"]),
                _mean_std(row["trained"]["return"]),
                f"{row['seconds']:.0f}",
            ]
        )
    return lines


HEADERS = [
    "N",
    "method",
    "env steps",
    "random covered",
    "trained covered",
    "vs random (seeds won)",
    "vs ippo (seeds won)",
    "trained final covered",
    "random return",
    "trained return",
    "wall s",
]


def markdown(rows: list[dict], header: str) -> str:
    lines = [header, "", "| " + " | ".join(HEADERS) + " |", "|---|---|" + "---:|" * 9]
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
    parser.add_argument("--agents", type=int, nargs="*", default=[10, 100], choices=SCALES)
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (vmap axis)")
    parser.add_argument("--seed", type=int, default=0, help="root training seed")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="x each N's updates")
    parser.add_argument(
        "--reward",
        default="team",
        choices=REWARDS,
        help="the reward every method trains on: the shared team reward or each agent's"
        " difference reward (evaluation reports the team reward either way)",
    )
    parser.add_argument(
        "--out",
        default=str(RESULTS / "coverage_learning"),
        help="results prefix: writes OUT.json (rows merged by (N, method, reward)) and OUT.md",
    )
    args = parser.parse_args()

    out = Path(args.out)
    json_path, md_path = out.with_suffix(".json"), out.with_suffix(".md")
    cells = [(n, method, args.reward) for n in args.agents for method in args.methods]
    rows: list[dict] = []
    if json_path.exists():
        rows = [
            row
            for row in json.loads(json_path.read_text())
            if (row["agents"], row["method"], _reward(row)) not in cells
        ]
    console = Console(width=None if Console().is_terminal else 200)  # logs: the full table
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} updates"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task("cells", total=len(cells))
        for num_agents, method, reward in cells:
            row = run_cell(
                num_agents, method, args.budget_scale, args.seeds, args.seed, progress, reward
            )
            row["budget_scale"] = args.budget_scale
            rows.append(row)
            rows.sort(
                key=lambda r: (
                    r["agents"],
                    REWARDS.index(_reward(r)),
                    list(METHODS).index(r["method"]),
                )
            )
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(rows, indent=1))
            progress.advance(overall)
            console.print(
                f"{cell_label(num_agents, method, reward)}: covered random"
                f" {_mean_std(row['random']['covered'])} trained"
                f" {_mean_std(row['trained']['covered'])} ({row['seconds']:.0f} s)"
            )
    header = (
        f"Coverage, N agents = N targets, {args.seeds} seeds vmapped (root seed {args.seed}),"
        f" eval seed {EVAL_SEED}, device {jax.devices()[0].platform}. Covered = the episode"
        " mean of info['covered_fraction'] (sampled actions); margins: mean difference"
        " (seeds won, paired on the same eval episodes)."
    )
    console.print(rich_table(rows, "Learning on coverage"))
    md_path.write_text(markdown(rows, header))
    console.print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
