"""Mean-field vs independent PPO in `battle` self-play: train both, then make them fight.

Trains `configs/battle_meanfield.json` twice for `--seeds` seeds at once (one vmapped program
each): as shipped (mean-field inputs, `model.mean_field`) and with `model.mean_field = null`
(independent PPO, the same network on the plain view). Both learn by self-play: one shared
policy controls both teams. Then seed s of the mean-field policy fights seed s of the
independent one on fresh episodes, half of them from each side of the map (team 0 starts on
the left): the mean-field policy acts on the mean-field env's observation, the independent one
on the same observation without the mean-action planes. A game is won by the team that
wipes the other out, or at the time limit by the team with more live agents (then more HP);
else it is a draw (`battle`'s `winner`). Both policies sample their actions. Each policy
also plays a uniform random legal policy, for scale.

    python benchmarks/battle_meanfield.py --agents-per-side 16 --map-size 24 \\
        --env-steps 60000 --seeds 2 --episodes 100
    python benchmarks/battle_meanfield.py        # the issue's regime: 64 v 64, 3 seeds

Prints a table per seed and overall (win / draw / loss of mean-field vs independent, with a
95% Wilson interval of the win rate over decided games), the self-play training curves
(mean return per agent), and writes `benchmarks/results/battle_meanfield.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from marlax.algorithms.ppo.policy import TrainedPolicy
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config
from marlax.play.policy import random_actions

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "battle_meanfield.json"
RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("mean_field", "independent")
EVAL_SEED = 2024


def method_config(method: str, args: argparse.Namespace) -> Any:
    """The shipped config at this run's scale, with or without mean-field inputs."""
    params = {
        "agents_per_side": args.agents_per_side,
        "map_size": args.map_size,
        "max_steps": args.max_steps,
    }
    overrides = [f"env.params.{key}={value}" for key, value in params.items()]
    overrides.append(f"env.num_envs={args.num_envs}")
    if method == "independent":
        overrides.append("model.mean_field=null")
    probe = load_config(CONFIG, overrides)
    updates = max(1, args.env_steps // probe.steps_per_update)
    log_every = max(d for d in range(1, min(updates, 20) + 1) if updates % d == 0)
    overrides += [
        f"ppo.total_env_steps={updates * probe.steps_per_update}",
        f"run.log_every={log_every}",
        f"run.checkpoint_every={log_every}",
    ]
    return load_config(CONFIG, overrides, num_seeds=args.seeds)


def train(method: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Train every seed of one method; (trainer, final state, curve f32[S, U], seconds)."""
    config = method_config(method, args)
    trainer = Trainer(config)
    state = trainer.init(jax.random.key(args.train_seed))
    calls = trainer.num_updates // config.run.log_every
    task = progress.add_task(f"train {method}", total=calls)
    curves, start = [], time.perf_counter()
    for _ in range(calls):
        state, metrics = trainer.update(state)
        curves.append(np.asarray(metrics["return"]))
        progress.advance(task)
    seconds = time.perf_counter() - start
    curve = np.concatenate(curves, axis=1)  # [S, U]
    return {"trainer": trainer, "state": state, "curve": curve, "seconds": seconds}


def policy_of(trained: dict[str, Any], seed: int) -> TrainedPolicy:
    """Seed `seed`'s actor, sampling its actions."""
    params = jax.tree.map(lambda leaf: leaf[seed], trained["state"].params["actor"])
    trainer = trained["trainer"]
    return TrainedPolicy(params, trainer.networks, trainer.layout, 0, sample=True)


def play(
    env: Any,
    first: Any,
    second: Any,
    second_obs_channels: int | None,
    episodes: int,
    key: jax.Array,
    first_side: int,
) -> np.ndarray:
    """Winners of `episodes` games: `first` controls team `first_side`, `second` the other.

    Args:
        env: the mean-field battle env (self-play).
        first: a policy acting on the mean-field observation.
        second: a TrainedPolicy (on the first `second_obs_channels` channels of it and the
            inner state) or None for uniform random legal actions.

    Returns:
        i32[E]: per game 1 = `first` won, -1 = lost, 0 = draw.
    """
    keys = jax.random.split(key, episodes)
    return np.asarray(_games(env, first, second, second_obs_channels, first_side, keys))


@partial(jax.jit, static_argnums=(0, 3, 4))
def _games(
    env: Any, first: Any, second: Any, channels: int | None, first_side: int, keys: jax.Array
) -> jax.Array:
    """`play`'s games, one per key (compiled once per pair of policy kinds and side)."""
    first_mask = jnp.asarray(env.agent_teams) == first_side

    def _game(game_key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(game_key)
        obs, state = env.reset(reset_key)
        memories = (first.initial_memory(), _memory(second))

        def _step(carry: tuple, step_key: jax.Array) -> tuple:
            obs, state, memories, reset, outcome = carry
            act_key, other_key, env_key = jax.random.split(step_key, 3)
            own, memory_a = first.act(act_key, obs, state, memories[0], reset)
            if second is None:
                other, memory_b = random_actions(other_key, env, state), memories[1]
            else:
                other, memory_b = second.act(
                    other_key, obs[..., :channels], state.inner, memories[1], reset
                )
            actions = jnp.where(first_mask, own, other)
            obs, state, _, done, info = env.step(env_key, state, actions)
            won = jnp.where(info["winner"] == first_side, 1, -1)
            result = jnp.where(info["winner"] < 0, 0, won)
            outcome = jnp.where((outcome == 2) & done, result, outcome)  # 2 = still playing
            return (obs, state, (memory_a, memory_b), jnp.zeros((), bool), outcome), None

        carry = (obs, state, memories, jnp.ones((), bool), jnp.full((), 2, jnp.int32))
        step_keys = jax.random.split(loop_key, env.max_steps)
        (_, _, _, _, outcome), _ = jax.lax.scan(_step, carry, step_keys)
        return outcome

    return jax.vmap(_game)(keys)


def _memory(policy: Any) -> Any:
    return () if policy is None else policy.initial_memory()


def wilson(wins: int, games: int) -> tuple[float, float]:
    """95% Wilson score interval of a win rate."""
    if games == 0:
        return float("nan"), float("nan")
    z, rate = 1.96, wins / games
    centre = (rate + z * z / (2 * games)) / (1 + z * z / games)
    half = z * math.sqrt(rate * (1 - rate) / games + z * z / (4 * games * games))
    return centre - half / (1 + z * z / games), centre + half / (1 + z * z / games)


def summarise(outcomes: np.ndarray) -> dict[str, Any]:
    wins, draws, losses = (int(np.sum(outcomes == v)) for v in (1, 0, -1))
    decided = wins + losses
    low, high = wilson(wins, decided)
    rate = wins / decided if decided else float("nan")
    return {
        "wins": wins,
        "draws": draws,
        "losses": losses,
        "win_rate_decided": rate,
        "wilson_95": [low, high],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents-per-side", type=int, default=64)
    parser.add_argument("--map-size", type=int, default=40)
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--env-steps", type=int, default=2_000_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=100, help="games per seed pair")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument(
        "--vs-random", action="store_true", help="also play each policy against random (3x eval)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "battle_meanfield")
    args = parser.parse_args()
    console = Console()

    trained = {}
    with Progress(console=console) as progress:
        for method in METHODS:
            trained[method] = train(method, args, progress)
    env = trained["mean_field"]["trainer"].layout.tasks[0].env
    plain_channels = env.env.observation_space.shape[-1]

    names = ["vs_independent"]
    if args.vs_random:
        names += ["mean_field_vs_random", "independent_vs_random"]
    rows, totals = [], {name: [] for name in names}
    key = jax.random.key(EVAL_SEED)
    half = args.episodes // 2
    for seed in range(args.seeds):
        mean_field = policy_of(trained["mean_field"], seed)
        independent = policy_of(trained["independent"], seed)
        games = {
            "vs_independent": [
                play(
                    env,
                    mean_field,
                    independent,
                    plain_channels,
                    half,
                    jax.random.fold_in(key, 10 * seed + side),
                    side,
                )
                for side in (0, 1)
            ],
        }
        if args.vs_random:
            # the independent policy reads the plain planes of the same env's observation
            plain = _PlainPolicy(independent, plain_channels)
            for name, policy, offset in (
                ("mean_field_vs_random", mean_field, 2),
                ("independent_vs_random", plain, 4),
            ):
                games[name] = [
                    play(
                        env,
                        policy,
                        None,
                        None,
                        half,
                        jax.random.fold_in(key, 10 * seed + offset + side),
                        side,
                    )
                    for side in (0, 1)
                ]
        row = {"seed": seed}
        for name, parts in games.items():
            outcomes = np.concatenate(parts)
            totals[name].append(outcomes)
            row[name] = summarise(outcomes)
        rows.append(row)
    overall = {name: summarise(np.concatenate(parts)) for name, parts in totals.items()}
    # an update's return is NaN when no episode ended in it (episodes outlast a rollout)
    curves = {
        method: {
            "final_return_per_seed": np.nanmean(
                trained[method]["curve"][:, -max(1, trained[method]["curve"].shape[1] // 10) :],
                axis=1,
            ).tolist(),
            "curve_mean": np.nanmean(trained[method]["curve"], axis=0).tolist(),
            "train_seconds": trained[method]["seconds"],
        }
        for method in METHODS
    }
    report = {
        "settings": vars(args) | {"out": str(args.out)},
        "per_seed": rows,
        "overall": overall,
        "training": curves,
    }
    _print(console, report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    args.out.with_suffix(".md").write_text(_markdown(report))


@jax.tree_util.register_pytree_node_class
class _PlainPolicy:
    """A policy trained without mean-field inputs, acting in the mean-field env."""

    def __init__(self, policy: TrainedPolicy, channels: int) -> None:
        self.policy, self.channels = policy, channels

    def tree_flatten(self) -> tuple:
        return (self.policy,), self.channels

    @classmethod
    def tree_unflatten(cls, channels: int, children: tuple) -> _PlainPolicy:
        return cls(children[0], channels)

    def initial_memory(self) -> Any:
        return self.policy.initial_memory()

    def act(self, key, obs, state, memory, reset):  # noqa: ANN001, ANN201 (MemoryPolicy)
        return self.policy.act(key, obs[..., : self.channels], state.inner, memory, reset)


def _cells(result: dict[str, Any]) -> list[str]:
    low, high = result["wilson_95"]
    return [
        f"{result['wins']}/{result['draws']}/{result['losses']}",
        f"{result['win_rate_decided']:.2f} [{low:.2f}, {high:.2f}]",
    ]


def _random_cells(row: dict[str, Any]) -> list[str]:
    """W/D/L of each policy against random, or "-" when not played."""
    names = ("mean_field_vs_random", "independent_vs_random")
    return [_cells(row[name])[0] if name in row else "-" for name in names]


def _print(console: Console, report: dict[str, Any]) -> None:
    table = Table(title="battle self-play: mean-field vs independent (W/D/L, win rate of decided)")
    for column in ("seed", "MF vs IL", "MF win rate", "MF vs random", "IL vs random"):
        table.add_column(column, justify="right")
    for row in [*report["per_seed"], {"seed": "all", **report["overall"]}]:
        table.add_row(str(row["seed"]), *_cells(row["vs_independent"]), *_random_cells(row))
    console.print(table)
    for method, curve in report["training"].items():
        finals = ", ".join(f"{value:.3f}" for value in curve["final_return_per_seed"])
        console.print(
            f"{method}: last-10% train return per seed {finals} ({curve['train_seconds']:.0f} s)"
        )


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "| seed | MF vs IL (W/D/L) | MF win rate of decided [95% CI] | MF vs random "
        "| IL vs random |",
        "|---|---|---|---|---|",
    ]
    for row in [*report["per_seed"], {"seed": "all", **report["overall"]}]:
        vs, rate = _cells(row["vs_independent"])
        against_random = " | ".join(_random_cells(row))
        lines.append(f"| {row['seed']} | {vs} | {rate} | {against_random} |")
    lines.append("")
    for method, curve in report["training"].items():
        finals = ", ".join(f"{value:.3f}" for value in curve["final_return_per_seed"])
        lines.append(
            f"- {method}: last-10% train return per seed {finals}, {curve['train_seconds']:.0f} s"
        )
    lines.append(f"- settings: {json.dumps(report['settings'])}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
