"""Where a PPO update's time goes on simple_spread (JaxMARL's IPPO settings), piece by piece.

Times, with `jit` and `block_until_ready` (median of `--repeats` after a warm-up):
- the update's pieces, by the library's `marlax.algorithms.ppo.profile.profile_update` (what
  `marlax profile` runs): the whole update, the rollout, GAE, one learning epoch, host time;
- one minibatch's actor + critic fwd+bwd on a [1, K, D] input vs on [K, D] with plain
  `nn.Dense`, and with marlax's `dense` (2-D contractions), and JaxMARL's network on [K, D];
- the minibatch permutation: `jax.random.permutation` vs `marlax.algorithms.common.shuffle`
  (these two by `marlax.bench.profiling.measure`).

    python benchmarks/ppo_step_profile.py --num-envs 64 1024

Findings it backs are in `benchmarks/results/train_throughput.md` (runs 4-5).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from rich.console import Console
from rich.table import Table

from jaxmarl_ippo import JAXMARL_IPPO_MPE_CONFIG, ActorCritic
from marlax.algorithms.common.shuffle import permutation
from marlax.algorithms.ppo.profile import profile_update
from marlax.algorithms.ppo.trainer import Trainer
from marlax.bench.profiling import measure
from marlax.config import load_from_dict
from marlax.models.base import dense
from train_throughput import marlax_config

OBS_DIM, NUM_ACTIONS, AGENTS = 18, 5, 3


def median_ms(fn: Callable, *args, repeats: int) -> float:
    """Median milliseconds of `repeats` calls after compiling and one warm-up call."""
    return measure(fn, *args, repeats=repeats).median_s * 1e3


class Towers(nn.Module):
    """Two 64-64 tanh towers (actor logits, critic value), JaxMARL's shapes; `make` builds
    the Dense layers (plain `nn.Dense` or marlax's 2-D `dense`)."""

    make: Callable[[int], nn.Module]

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        actor, critic = obs, obs
        for _ in range(2):
            actor = nn.tanh(self.make(64)(actor))
            critic = nn.tanh(self.make(64)(critic))
        return jnp.sum(self.make(NUM_ACTIONS)(actor)) + jnp.sum(self.make(1)(critic))


def update_rows(num_envs: int, repeats: int) -> list[tuple[str, float]]:
    raw = marlax_config("simple_spread", num_envs, log_every=1, num_updates=4)
    profile = profile_update(Trainer(load_from_dict(raw)), jax.random.key(0), repeats=repeats)
    epochs = profile.num_epochs
    return [
        ("whole update", profile.program("update").median_s * 1e3),
        ("rollout", profile.program("rollout").median_s * 1e3),
        ("GAE + batch layout", profile.program("gae").median_s * 1e3),
        (
            f"learning epochs ({epochs} x one)",
            epochs * profile.program("learning_epoch").median_s * 1e3,
        ),
        ("host (dispatch + metric rows)", profile.host.host_s * 1e3),
    ]


def minibatch_rows(num_envs: int, repeats: int) -> list[tuple[str, float]]:
    steps = JAXMARL_IPPO_MPE_CONFIG["NUM_STEPS"]
    samples = num_envs * AGENTS * steps
    size = samples // JAXMARL_IPPO_MPE_CONFIG["NUM_MINIBATCHES"]
    obs = jax.random.normal(jax.random.key(0), (size, OBS_DIM))
    rows = []
    for label, make in (("nn.Dense", nn.Dense), ("marlax dense", dense)):
        towers = Towers(make)
        params = towers.init(jax.random.key(1), obs)
        grad = jax.jit(jax.grad(towers.apply))
        rows.append(
            (
                f"towers fwd+bwd, {label}, [1, K, D]",
                median_ms(grad, params, obs[None], repeats=repeats),
            )
        )
        rows.append(
            (f"towers fwd+bwd, {label}, [K, D]", median_ms(grad, params, obs, repeats=repeats))
        )
    network = ActorCritic(NUM_ACTIONS)
    params = network.init(jax.random.key(1), obs[0])

    def _jaxmarl(p, o):
        pi, value = network.apply(p, o)
        return jnp.sum(pi.logits) + jnp.sum(value)

    rows.append(
        (
            "JaxMARL ActorCritic fwd+bwd, [K, D]",
            median_ms(jax.jit(jax.grad(_jaxmarl)), params, obs, repeats=repeats),
        )
    )
    key = jax.random.key(2)
    jax_perm = jax.jit(lambda k: jax.random.permutation(k, samples))
    rows.append((f"jax.random.permutation({samples:,})", median_ms(jax_perm, key, repeats=repeats)))
    ours = jax.jit(lambda k: permutation(k, samples))
    rows.append((f"shuffle.permutation({samples:,})", median_ms(ours, key, repeats=repeats)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", nargs="*", type=int, default=[64])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    table = Table(title=f"PPO update pieces (simple_spread, T = 128), {jax.devices()[0].platform}")
    for column in ("B", "piece", "ms"):
        table.add_column(column, justify="left" if column == "piece" else "right")
    for num_envs in args.num_envs:
        for label, ms in update_rows(num_envs, args.repeats) + minibatch_rows(
            num_envs, args.repeats
        ):
            table.add_row(str(num_envs), label, f"{ms:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
