"""grid_return with uint8 vs int32 observations: a stored rollout and a whole PPO update.

The ids grid_return observes (tile << 3 | unit < 80) fit in a byte, so `obs_dtype="uint8"`
writes a quarter of the bytes per step (16 agents x 11 x 11 x 2: 15.5 KB int32, 3.9 KB uint8
per env-step). Two measurements, each *interleaved* (int32, uint8, int32, ... so a shared
machine loads both alike; medians and the median of per-round ratios):

- `rollout`: a `lax.scan` of T env steps of `VectorEnv(env, B, num_resets=B // 16)` with
  uniform random legal actions that **stacks every observation** ([T, B, N, V, V, 2], as PPO's
  collect stores them); env-steps/s = B T / seconds.
- `update`: one PPO update (`Trainer.update`, rollout + GAE + epochs) of
  `configs/grid_return.json` with only `env.params.obs_dtype` changed (MLP core unless
  `--model` says otherwise), seconds per update.

    python benchmarks/grid_obs_dtype.py --batch-sizes 1024 4096 --steps 16 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config
from marlax.envs import VectorEnv, make

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "grid_return.json"
DTYPES = ("int32", "uint8")


def rollout_call(obs_dtype: str, num_envs: int, steps: int):
    """A () -> (obs [T, B, N, V, V, 2], reward sum) call: T random-action steps from one reset
    state made beforehand (map generation stays out of the timing)."""
    vector = VectorEnv(make("grid_return", obs_dtype=obs_dtype), num_envs, num_envs // 16 or 1)

    def _step(carry, key):
        state = carry
        logits = jnp.where(jax.vmap(vector.env.action_mask)(state), 0.0, -jnp.inf)
        actions = jax.random.categorical(key, logits, axis=-1)
        obs, state, reward, _, _ = vector.step(jax.random.fold_in(key, 1), state, actions)
        return state, (obs, jnp.sum(reward))

    def _rollout(key, state):
        _, (obs, rewards) = jax.lax.scan(_step, state, jax.random.split(key, steps))
        return obs, jnp.sum(rewards)

    key = jax.random.key(0)
    _, state = jax.jit(vector.reset)(key)
    rollout = jax.jit(_rollout)
    return lambda: jax.block_until_ready(rollout(key, state))


def update_call(obs_dtype: str, model: str | None):
    """A () -> seconds closure timing one PPO update of configs/grid_return.json."""
    overrides = [f"env.params.obs_dtype={obs_dtype}", "run.log_every=1"]
    if model is not None:
        overrides.append(f"model.name={model}")
    trainer = Trainer(load_config(CONFIG, overrides))
    holder = [trainer.init(jax.random.key(0))]

    def _one() -> None:
        holder[0], metrics = trainer.update(holder[0], 1)
        jax.block_until_ready(metrics)

    return _one


def interleaved(
    calls: dict[str, Callable[[], object]], repeats: int, progress: Progress, task: TaskID
) -> dict[str, list[float]]:
    """Seconds of each call per round, the calls run in turn within a round."""
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - start)
        progress.advance(task)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[1024, 4096])
    parser.add_argument("--steps", type=int, default=16, help="scan length T of the rollout")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--model", default=None, help="model.name for the update (default: config's)"
    )
    parser.add_argument("--skip-update", action="store_true")
    args = parser.parse_args()

    console = Console()
    table = Table(title="grid_return observations: int32 vs uint8 (interleaved)")
    for column in ("measure", "int32", "uint8", "uint8 / int32 speed (median of rounds)"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    rows = []
    with Progress(console=console) as progress:
        for num_envs in args.batch_sizes:
            calls = {}
            for dtype in DTYPES:
                calls[dtype] = rollout_call(dtype, num_envs, args.steps)
                calls[dtype]()  # compile
            task = progress.add_task(f"rollout B={num_envs}", total=args.repeats)
            seconds = interleaved(calls, args.repeats, progress, task)
            rate = {d: num_envs * args.steps / statistics.median(s) for d, s in seconds.items()}
            ratio = statistics.median(
                a / b for a, b in zip(seconds["int32"], seconds["uint8"], strict=True)
            )
            rows.append(
                (
                    f"rollout B={num_envs} T={args.steps} (env-steps/s)",
                    f"{rate['int32']:,.0f}",
                    f"{rate['uint8']:,.0f}",
                    f"{ratio:.2f}x",
                )
            )
        if not args.skip_update:
            calls = {dtype: update_call(dtype, args.model) for dtype in DTYPES}
            for call in calls.values():
                call()  # compile
            task = progress.add_task("PPO update", total=args.repeats)
            seconds = interleaved(calls, args.repeats, progress, task)
            median = {d: statistics.median(s) for d, s in seconds.items()}
            ratio = statistics.median(
                a / b for a, b in zip(seconds["int32"], seconds["uint8"], strict=True)
            )
            label = (
                f"PPO update, {CONFIG.name}{'' if args.model is None else ', ' + args.model} (s)"
            )
            rows.append(
                (label, f"{median['int32']:.3f}", f"{median['uint8']:.3f}", f"{ratio:.2f}x")
            )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"device {jax.devices()[0].platform}, {args.repeats} interleaved rounds")


if __name__ == "__main__":
    main()
