"""PBT vs PPO on simple_spread at equal env steps and an equal population / seed count.

    python benchmarks/pbt_vs_ppo.py                       # CPU-sized default, a few minutes
    python benchmarks/pbt_vs_ppo.py --env-steps 2000000 --members 8 --num-envs 64

Both start from `configs/pbt_simple_spread.json` (the PPO side with `algorithm = "ppo"` and
the config's PPO settings for every seed; the PBT side with hyperparameters drawn from the
config's prior and exploited every `--interval` updates). Both train `--members` seeds from
the same root seed, so their member/seed initialisations are the same. Reported: the mean
episode return over the last 10% of updates, averaged over members ("mean") and of the best
member ("best"), and the wall time (noisy on a shared machine; env steps are exact).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "pbt_simple_spread.json"


def _settings(args: argparse.Namespace, algorithm: str) -> list[str]:
    return [
        f"algorithm={algorithm}",
        f"ppo.total_env_steps={args.env_steps}",
        f"envs.0.num_envs={args.num_envs}",
        f"run.num_seeds={args.members}",
        f"run.seed={args.seed}",
        f"run.log_every={args.interval}",
        f"run.checkpoint_every={args.interval}",
        f"pbt.interval={args.interval}",
    ]


def _train(trainer: Trainer | PBTTrainer, seed: int) -> tuple[np.ndarray, float]:
    """Returns f32[S, U] per member and update, and the wall time of the run (s)."""
    started = time.perf_counter()
    state = trainer.init(jax.random.key(seed))
    returns = []
    done = 0
    while done < trainer.num_updates:
        size = min(trainer.config.run.log_every, trainer.num_updates - done)
        state, metrics = trainer.update(state, size)
        returns.append(np.asarray(metrics["return"]))
        done += size
    return np.concatenate(returns, axis=1), time.perf_counter() - started


def _summary(returns: np.ndarray) -> tuple[float, float]:
    """(mean over members, best member) of each member's mean return over the last 10%."""
    tail = max(1, returns.shape[1] // 10)
    per_member = np.nanmean(returns[:, -tail:], axis=1)
    return float(np.mean(per_member)), float(np.max(per_member))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-steps", type=int, default=400_000, help="per member / seed")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for algorithm, build in (("ppo", Trainer), ("pbt", PBTTrainer)):
        config = load_config(CONFIG, _settings(args, algorithm))
        returns, seconds = _train(build(config), args.seed)
        mean, best = _summary(returns)
        rows.append((algorithm, config.num_updates * config.steps_per_update, mean, best, seconds))
    print(
        f"simple_spread, {args.members} members/seeds x {args.num_envs} envs, "
        f"interval {args.interval}, seed {args.seed}"
    )
    print("| learner | env steps per member | return, mean of members | best member | wall s |")
    print("|---|---|---|---|---|")
    for algorithm, steps, mean, best, seconds in rows:
        print(f"| {algorithm} | {steps:,} | {mean:.2f} | {best:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
