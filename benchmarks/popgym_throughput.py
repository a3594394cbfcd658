"""POPGym ports: env-steps/s of marlax (jit + vmap + scan) against popgym's numpy envs.

marlax: `VectorEnv(env, B)` (auto-reset, exact), a `lax.scan` of T steps of uniform random
actions inside one jit; steps/s = B*T / seconds (median of repeats, after compile).
popgym: one env stepped in a Python loop with uniform random actions, reset when done;
steps/s = steps / seconds. Same random policy, same difficulty.

    python benchmarks/popgym_throughput.py --difficulty medium --num-envs 1024 --num-steps 256
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import numpy as np

from marlax.envs import VectorEnv, make
from marlax.envs.popgym import REFERENCE_CLASSES

PORTS = REFERENCE_CLASSES


def marlax_steps_per_second(
    name: str,
    difficulty: str,
    num_envs: int,
    num_steps: int,
    repeats: int,
    num_resets: int | None = None,
) -> tuple[float, float]:
    """(compile seconds, env-steps/s) of a jitted random rollout of B auto-reset envs.

    `num_resets`: `VectorEnv`'s exact reset pool (None = a full reset of every env each
    step, which for the card games means B deck shuffles, i.e. sorts, per step)."""
    env = make(name, difficulty=difficulty)
    vector = VectorEnv(env, num_envs=num_envs, num_resets=num_resets)
    num_actions = env.action_space.n

    def _run(key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(key)
        _, state = vector.reset(reset_key)

        def _body(state, step_key):
            """Carries the batched env state; stacks the summed reward."""
            action_key, env_key = jax.random.split(step_key)
            actions = jax.random.randint(action_key, (num_envs, 1), 0, num_actions)
            _, state, reward, _, _ = vector.step(env_key, state, actions)
            return state, reward.sum()

        _, rewards = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
        return rewards.sum()

    start = time.perf_counter()
    compiled = jax.jit(_run).lower(jax.random.key(0)).compile()
    compile_s = time.perf_counter() - start
    compiled(jax.random.key(0)).block_until_ready()
    seconds = []
    for repeat in range(repeats):
        start = time.perf_counter()
        compiled(jax.random.key(repeat + 1)).block_until_ready()
        seconds.append(time.perf_counter() - start)
    return compile_s, num_envs * num_steps / statistics.median(seconds)


def popgym_steps_per_second(name: str, difficulty: str, num_steps: int) -> float:
    """Env-steps/s of popgym's env stepped serially with uniform random actions."""
    from popgym import envs as popgym_envs

    env = getattr(popgym_envs, PORTS[name] + difficulty.capitalize())()
    rng = np.random.default_rng(0)
    actions = rng.integers(env.action_space.n, size=num_steps)
    env.reset(seed=0)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(int(action))
        if terminated or truncated:
            env.reset()
    return num_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--difficulty", default="medium", choices=("easy", "medium", "hard"))
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--num-steps", type=int, default=256, help="T scanned per rollout")
    parser.add_argument("--popgym-steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--pool-divisor", type=int, default=16, help="pooled resets: num_resets = B // this"
    )
    args = parser.parse_args()
    pool = max(1, args.num_envs // args.pool_divisor)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; difficulty {args.difficulty}")
    print(
        f"| env | marlax steps/s, full resets (B={args.num_envs}) | marlax steps/s, "
        f"reset pool {pool} | compile s | popgym steps/s (1 env) | ratio full / pool |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in PORTS:
        common = (name, args.difficulty, args.num_envs, args.num_steps, args.repeats)
        compile_s, full = marlax_steps_per_second(*common)
        _, pooled = marlax_steps_per_second(*common, num_resets=pool)
        theirs = popgym_steps_per_second(name, args.difficulty, args.popgym_steps)
        print(
            f"| {name} | {full:,.0f} | {pooled:,.0f} | {compile_s:.1f} | {theirs:,.0f} "
            f"| {full / theirs:,.1f}x / {pooled / theirs:,.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
