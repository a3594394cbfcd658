"""MAPPO's centralised-critic input on coverage: per-env (now) vs per-agent (before), N agents.

The rollout stores the critic's input once per env step, f32[T, B, C] with C = 4N + 4M on
coverage (`marlax.algorithms.ppo.centralised`). Before, every agent row held [global state,
agent one-hot]: f32[T, B, N, C + N], O(N^2) per env step. The table gives, from shapes only
(the rollout traced with `jax.eval_shape`, nothing run), the bytes of one stored transition
(one env step of one env: every `Transition` leaf) and of its critic input, both ways; with
`--time` also the median seconds of one MAPPO update (rollout + epochs, compiled once) at
the smallest N, and of one IPPO update (independent critic) for reference.

    python benchmarks/centralised_critic_memory.py                   # N = 100, 1000
    python benchmarks/centralised_critic_memory.py --agents 100 1000 10000 --time

Self-contained: needs only the installed `marlax` and the repository's `configs/`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jax
from rich.console import Console
from rich.progress import track
from rich.table import Table

from marlax.algorithms.ppo.rollout import reset_runner, rollout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "coverage_1000.json"
STEPS = 50  # coverage_1000's rollout_length


def _config(num_agents: int, num_envs: int = 1, critic: str = "centralised"):
    """configs/coverage_1000.json at N agents and N targets, with `critic`."""
    return load_config(
        CONFIG,
        [
            f"env.params.num_agents={num_agents}",
            f"env.params.num_targets={num_agents}",
            f"env.num_envs={num_envs}",
            f"ppo.total_env_steps={STEPS * num_envs}",
            f"ppo.critic={critic}",
            "run.log_every=1",
        ],
    )


def transition_bytes(num_agents: int) -> dict[str, int]:
    """Bytes of one env step's `Transition` now and as the per-agent input made it."""
    trainer = Trainer(_config(num_agents))
    layout, networks = trainer.layout, trainer.networks

    def _rollout(key):
        params = networks.init(key, layout)
        runner = reset_runner(key, layout, networks)
        return rollout(key, layout, networks, params, runner, 1)[1]

    transition = jax.eval_shape(_rollout, jax.random.key(0))
    now = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(transition))
    size = layout.critic_size()
    critic_now = transition.critic_state.size * 4
    critic_before = num_agents * (size + num_agents) * 4  # f32[N, C + N] per env step
    return {
        "C": size,
        "critic_now": critic_now,
        "critic_before": critic_before,
        "now": now,
        "before": now - critic_now + critic_before,
    }


def update_seconds(num_agents: int, critic: str, repeats: int = 5) -> tuple[float, float]:
    """(compile seconds, median seconds of one PPO update with `critic`) at N agents, one env."""
    trainer = Trainer(_config(num_agents, critic=critic))
    state = trainer.init(jax.random.key(0))
    start = time.perf_counter()
    state, metrics = trainer.update(state)
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - start
    times = []
    for _ in track(range(repeats), description=f"{critic} updates at N = {num_agents}"):
        start = time.perf_counter()
        state, metrics = trainer.update(state)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    return compile_s, statistics.median(times)


def _kb(count: int) -> str:
    return f"{count / 1e3:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--time", action="store_true", help="time one update at min(agents)")
    args = parser.parse_args()
    table = Table(title="coverage MAPPO: bytes per stored transition (one env step, one env)")
    for column in ("N", "C", "critic in (kB)", "before (kB)", "transition (kB)", "before (kB)"):
        table.add_column(column, justify="right")
    for num_agents in args.agents:
        sizes = transition_bytes(num_agents)
        table.add_row(
            str(num_agents),
            str(sizes["C"]),
            _kb(sizes["critic_now"]),
            _kb(sizes["critic_before"]),
            _kb(sizes["now"]),
            _kb(sizes["before"]),
        )
    console = Console()
    console.print(table)
    if args.time:
        num_agents = min(args.agents)
        for critic in ("centralised", "independent"):  # the second for reference
            compile_s, median_s = update_seconds(num_agents, critic)
            console.print(
                f"one PPO update, {critic} critic, N = {num_agents} (1 env x {STEPS} steps, "
                f"coverage_1000 settings): compile {compile_s:.1f} s, median {median_s:.3f} s"
            )


if __name__ == "__main__":
    main()
