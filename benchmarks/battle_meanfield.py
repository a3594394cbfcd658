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
also plays a uniform random legal policy, for scale (`--vs-random`).

Behaviour, so that a passive equilibrium shows directly: over the steps of every game (up to
its end) each side's live agent-steps, attacks, hits (attacks that landed on an enemy: 2 HP
each, magent2's damage) and kills (enemies that died). Reported per method as attacks per
live agent-step, hit rate (hits / attacks), hits, damage dealt (HP) and kills per game, for
the cross-play games and for each final policy in self-play against itself (the regime it
trained in: `--self-play-episodes` games per seed, both teams counted).
`--env-param KEY=VALUE` (repeatable) or `--attack-penalty X` override `env.params` for both
methods, e.g. magent2's attack penalty (-0.1 per attack), which makes "never attack" the
first thing PPO learns.

    python benchmarks/battle_meanfield.py --agents-per-side 16 --map-size 24 \\
        --env-steps 60000 --seeds 2 --episodes 100
    python benchmarks/battle_meanfield.py        # the issue's regime: 64 v 64, 3 seeds
    python benchmarks/battle_meanfield.py --agents-per-side 16 --map-size 24 \\
        --max-steps 100 --env-steps 16384 --attack-penalty -0.01

Prints a table per seed and overall (win / draw / loss of mean-field vs independent, with a
95% Wilson interval of the win rate over decided games), the behaviour table, the self-play
training curves (mean return per agent), and writes `--out` .json and .md
(`benchmarks/results/battle_meanfield.{json,md}`).
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
from marlax.envs.battle import combat
from marlax.envs.battle.constants import DAMAGE, HP_PER_UNIT, NOOP
from marlax.errors import ConfigError
from marlax.play.policy import random_actions

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "battle_meanfield.json"
RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("mean_field", "independent")
EVAL_SEED = 2024
COUNTS = ("agent_steps", "attacks", "hits", "kills")
"""Per side of a game, summed over its steps: live agent-steps, attack actions of live
agents, attacks that landed on an enemy, enemies that died."""


def env_overrides(args: argparse.Namespace) -> list[str]:
    """`env.params.*` overrides of this run: its scale, then `--env-param`, `--attack-penalty`.

    Raises:
        ConfigError: an `--env-param` that is not KEY=VALUE.
    """
    params = {
        "agents_per_side": args.agents_per_side,
        "map_size": args.map_size,
        "max_steps": args.max_steps,
    }
    overrides = [f"env.params.{key}={value}" for key, value in params.items()]
    for setting in args.env_param:
        key, equals, value = setting.partition("=")
        if not (key.strip() and equals and value.strip()):
            raise ConfigError("--env-param", setting, "KEY=VALUE, e.g. attack_penalty=-0.01")
        overrides.append(f"env.params.{key.strip()}={value.strip()}")
    if args.attack_penalty is not None:
        overrides.append(f"env.params.attack_penalty={args.attack_penalty!r}")
    return overrides


def method_config(method: str, args: argparse.Namespace) -> Any:
    """The shipped config at this run's scale, with or without mean-field inputs."""
    overrides = env_overrides(args)
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
    env: Any, first: Any, second: Any, episodes: int, key: jax.Array, first_side: int
) -> tuple[np.ndarray, np.ndarray]:
    """`episodes` games: `first` controls team `first_side`, `second` the other.

    Args:
        env: the mean-field battle env (self-play).
        first: a policy acting on the mean-field observation (`MemoryPolicy`).
        second: the same kind of policy (`_PlainPolicy` for one trained without mean-field
            inputs), or None for uniform random legal actions.

    Returns:
        (i32[E]: per game 1 = `first` won, -1 = lost, 0 = draw;
         i64[E, 2, 4]: per game `COUNTS` of `first` (row 0) and `second` (row 1)).
    """
    keys = jax.random.split(key, episodes)
    outcomes, counts = _games(env, first, second, first_side, keys)
    return np.asarray(outcomes), np.asarray(counts).astype(np.int64)


@partial(jax.jit, static_argnums=(0, 3))
def _games(
    env: Any, first: Any, second: Any, first_side: int, keys: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`play`'s games, one per key (compiled once per pair of policy kinds and side)."""
    first_mask = jnp.asarray(env.agent_teams) == first_side
    sides = jnp.asarray([first_side, 1 - first_side])

    def _game(game_key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, loop_key = jax.random.split(game_key)
        obs, state = env.reset(reset_key)
        memories = (first.initial_memory(), _memory(second))

        def _step(carry: tuple, step_key: jax.Array) -> tuple:
            """Carries (obs, state, memories, reset, outcome, counts i32[2, 4])."""
            obs, state, memories, reset, outcome, counts = carry
            act_key, other_key, env_key = jax.random.split(step_key, 3)
            own, memory_a = first.act(act_key, obs, state, memories[0], reset)
            if second is None:
                other, memory_b = random_actions(other_key, env, state), memories[1]
            else:
                other, memory_b = second.act(other_key, obs, state, memories[1], reset)
            actions = jnp.where(first_mask, own, other)
            obs, next_state, _, done, info = env.step(env_key, state, actions)
            playing = outcome == 2  # 2 = still playing; the env does not reset after the end
            step_counts = team_counts(env.env, state.inner, actions, next_state.inner.alive)
            counts = jnp.where(playing, counts + step_counts[sides], counts)
            won = jnp.where(info["winner"] == first_side, 1, -1)
            result = jnp.where(info["winner"] < 0, 0, won)
            outcome = jnp.where(playing & done, result, outcome)
            memories = (memory_a, memory_b)
            return (obs, next_state, memories, jnp.zeros((), bool), outcome, counts), None

        counts = jnp.zeros((2, len(COUNTS)), jnp.int32)
        carry = (obs, state, memories, jnp.ones((), bool), jnp.full((), 2, jnp.int32), counts)
        step_keys = jax.random.split(loop_key, env.max_steps)
        (*_, outcome, counts), _ = jax.lax.scan(_step, carry, step_keys)
        return outcome, counts

    return jax.vmap(_game)(keys)


def team_counts(battle: Any, inner: Any, actions: jax.Array, alive_after: jax.Array) -> jax.Array:
    """`COUNTS` of one self-play battle step per team: i32[2 teams, 4].

    Hits are the env's own attack phase (`combat.resolve_attacks`) replayed on the state
    before the step: which attacks land does not depend on the step's priorities (those
    only pick who enters a contested cell and who gets the kill credit). A team's kills are
    the other team's agents that died in the step (only attacks kill).

    Args:
        battle: the `Battle` env (`opponent="self_play"`, so N = 2K).
        inner: its BattleState before the step; actions: i32[2K] the step's actions;
        alive_after: bool[2K] who is alive after it.
    """
    teams = jnp.asarray(battle.teams)
    alive = inner.alive
    actions = jnp.where(alive, actions, NOOP)  # the env ignores the actions of the dead
    grid = combat.occupancy(inner.positions, alive, battle.map_size, battle.map_size)
    priority = jnp.arange(teams.shape[0], dtype=jnp.int32)  # any unique ones: hits ignore it
    attacks = combat.resolve_attacks(
        inner.positions, alive, teams, actions, inner.hp, priority, grid, battle.map_size
    )
    died = alive & ~alive_after
    per_agent = jnp.stack([alive, attacks.attacked, attacks.hit, died], axis=-1)
    per_team = jax.ops.segment_sum(per_agent.astype(jnp.int32), teams, num_segments=2)
    return per_team.at[:, 3].set(per_team[::-1, 3])  # deaths of the other team


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


def behaviour(counts: np.ndarray) -> dict[str, Any]:
    """One side's behaviour over games.

    Args:
        counts: int[E, 4] `COUNTS` of that side per game.

    Returns:
        the totals, `attack_rate` (attacks per live agent-step), `hit_rate` (hits per
        attack, NaN without attacks), and per game `hits`, `damage_hp` (hits x 2 HP, magent2
        units, overkill included) and `kills`.
    """
    totals = {name: int(value) for name, value in zip(COUNTS, counts.sum(axis=0), strict=True)}
    games = max(counts.shape[0], 1)
    hits = totals["hits"]
    return {
        "games": int(counts.shape[0]),
        **totals,
        "attack_rate": totals["attacks"] / totals["agent_steps"]
        if totals["agent_steps"]
        else float("nan"),
        "hit_rate": hits / totals["attacks"] if totals["attacks"] else float("nan"),
        "hits_per_game": hits / games,
        "damage_hp_per_game": hits * DAMAGE / HP_PER_UNIT / games,
        "kills_per_game": totals["kills"] / games,
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents-per-side", type=int, default=64)
    parser.add_argument("--map-size", type=int, default=40)
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--env-steps", type=int, default=2_000_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=100, help="games per seed pair")
    parser.add_argument(
        "--self-play-episodes",
        type=int,
        default=None,
        help="games of each final policy against itself per seed (default: episodes / 2)",
    )
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument(
        "--env-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override env.params for both methods (repeatable), e.g. attack_penalty=-0.01",
    )
    parser.add_argument(
        "--attack-penalty",
        type=float,
        default=None,
        help="env.params.attack_penalty for both methods (magent2: -0.1 per attack)",
    )
    parser.add_argument(
        "--vs-random", action="store_true", help="also play each policy against random (3x eval)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "battle_meanfield")
    args = parser.parse_args()
    if args.self_play_episodes is None:
        args.self_play_episodes = args.episodes // 2
    try:  # refuse a bad override before training anything
        for method in METHODS:
            method_config(method, args)
    except ConfigError as error:
        parser.error(str(error))
    return args


def evaluate(
    env: Any, trained: dict[str, Any], args: argparse.Namespace
) -> tuple[list[dict], dict, dict]:
    """Cross-play (and self-play, against random) games of every seed.

    Returns:
        (per-seed rows, overall W/D/L per game set, behaviour per game set and method).
    """
    plain_channels = env.env.observation_space.shape[-1]
    key = jax.random.key(EVAL_SEED)
    half = args.episodes // 2
    rows, outcomes, counts = [], {}, {}
    for seed in range(args.seeds):
        mean_field = policy_of(trained["mean_field"], seed)
        # the independent policy reads the plain planes of the same env's observation
        independent = _PlainPolicy(policy_of(trained["independent"], seed), plain_channels)
        games = {  # name: (first, second, key offset, sides, first's method, second's)
            "vs_independent": (mean_field, independent, 0, (0, 1), METHODS),
            "self_play_mean_field": (mean_field, mean_field, 6, (0,), ("mean_field",) * 2),
            "self_play_independent": (independent, independent, 7, (0,), ("independent",) * 2),
        }
        if args.vs_random:
            games["mean_field_vs_random"] = (mean_field, None, 2, (0, 1), ("mean_field", None))
            games["independent_vs_random"] = (independent, None, 4, (0, 1), ("independent", None))
        row = {"seed": seed}
        for name, (first, second, offset, sides, methods) in games.items():
            count = args.self_play_episodes if name.startswith("self_play") else half
            parts = [
                play(
                    env,
                    first,
                    second,
                    count,
                    jax.random.fold_in(key, 10 * seed + offset + side),
                    side,
                )
                for side in sides
            ]
            games_outcomes = np.concatenate([part[0] for part in parts])
            games_counts = np.concatenate([part[1] for part in parts])
            outcomes.setdefault(name, []).append(games_outcomes)
            counts.setdefault(name, []).append(games_counts)
            row[name] = summarise(games_outcomes)
            row[f"{name}_behaviour"] = _behaviours(games_counts, methods)
        rows.append(row)
    overall = {name: summarise(np.concatenate(parts)) for name, parts in outcomes.items()}
    behaviours = {
        name: _behaviours(np.concatenate(parts), games[name][4]) for name, parts in counts.items()
    }
    return rows, overall, behaviours


def _behaviours(counts: np.ndarray, methods: tuple) -> dict[str, Any]:
    """`behaviour` per method of one game set; both sides pooled when one method plays both
    (self-play); the random side (method None) left out."""
    if methods[0] == methods[1]:
        return {methods[0]: behaviour(counts.reshape(-1, len(COUNTS)))}
    return {
        method: behaviour(counts[:, side])
        for side, method in enumerate(methods)
        if method is not None
    }


def main() -> None:
    args = _parse_args()
    console = Console()
    if not console.is_terminal:  # a log file: room for the behaviour table
        console.width = 150
    trained = {}
    with Progress(console=console) as progress:
        for method in METHODS:
            trained[method] = train(method, args, progress)
    env = trained["mean_field"]["trainer"].layout.tasks[0].env
    start = time.perf_counter()
    rows, overall, behaviours = evaluate(env, trained, args)
    eval_seconds = time.perf_counter() - start
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
        "env_params": dict(method_config("mean_field", args).envs[0].params),
        "per_seed": rows,
        "overall": overall,
        "behaviour": behaviours,
        "training": curves,
        "eval_seconds": eval_seconds,
    }
    _print(console, report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # appended, not `with_suffix`: an out name like `..._penalty-0.01` keeps its ".01"
    args.out.parent.joinpath(f"{args.out.name}.json").write_text(json.dumps(report, indent=1))
    args.out.parent.joinpath(f"{args.out.name}.md").write_text(_markdown(report))


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


BEHAVIOUR_COLUMNS = (
    ("games", "games", "{}"),
    ("attacks / agent-step", "attack_rate", "{:.4f}"),
    ("hit rate", "hit_rate", "{:.3f}"),
    ("hits / game", "hits_per_game", "{:.2f}"),
    ("damage HP / game", "damage_hp_per_game", "{:.2f}"),
    ("kills / game", "kills_per_game", "{:.2f}"),
)


def _behaviour_rows(report: dict[str, Any]) -> list[list[str]]:
    """[game set, seed, method, *BEHAVIOUR_COLUMNS] per seed and overall."""
    rows = []
    for name in report["behaviour"]:
        seeds = [(str(row["seed"]), row[f"{name}_behaviour"]) for row in report["per_seed"]]
        for seed, per_method in [*seeds, ("all", report["behaviour"][name])]:
            for method, values in per_method.items():
                cells = [fmt.format(values[field]) for _, field, fmt in BEHAVIOUR_COLUMNS]
                rows.append([name, seed, method, *cells])
    return rows


def _print(console: Console, report: dict[str, Any]) -> None:
    table = Table(title="battle self-play: mean-field vs independent (W/D/L, win rate of decided)")
    for column in ("seed", "MF vs IL", "MF win rate", "MF vs random", "IL vs random"):
        table.add_column(column, justify="right")
    for row in [*report["per_seed"], {"seed": "all", **report["overall"]}]:
        table.add_row(str(row["seed"]), *_cells(row["vs_independent"]), *_random_cells(row))
    console.print(table)
    table = Table(title="behaviour per side (until each game's end)")
    for column in ("games played", "seed", "method", *(c[0] for c in BEHAVIOUR_COLUMNS)):
        table.add_column(column, justify="right")
    for row in _behaviour_rows(report):
        table.add_row(*row)
    console.print(table)
    for method, curve in report["training"].items():
        finals = ", ".join(f"{value:.3f}" for value in curve["final_return_per_seed"])
        console.print(
            f"{method}: last-10% train return per seed {finals} ({curve['train_seconds']:.0f} s)"
        )
    console.print(f"evaluation: {report['eval_seconds']:.0f} s; env.params {report['env_params']}")


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
    headers = ["games played", "seed", "method", *(c[0] for c in BEHAVIOUR_COLUMNS)]
    lines += ["", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in _behaviour_rows(report)]
    lines.append("")
    for method, curve in report["training"].items():
        finals = ", ".join(f"{value:.3f}" for value in curve["final_return_per_seed"])
        lines.append(
            f"- {method}: last-10% train return per seed {finals}, {curve['train_seconds']:.0f} s"
        )
    lines.append(f"- evaluation: {report['eval_seconds']:.0f} s")
    lines.append(f"- env.params: {json.dumps(report['env_params'])}")
    lines.append(f"- settings: {json.dumps(report['settings'])}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
