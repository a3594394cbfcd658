"""What `from_gymnax` costs: env-steps/s of a gymnax env behind the marlax API vs gymnax itself.

For each batch size B, one jit holds a `lax.scan` of T steps of B envs with uniform random
actions and auto-reset; env-steps/s = B * T / seconds (median over rounds, after compile).
The ways of stepping, timed interleaved round by round so a shared machine loads them alike:

- `gymnax`: `vmap(env.step)` of gymnax itself (its `step` resets every env every step and
  selects), with its `EnvParams` passed as gymnax users do (traced).
- `adapter`: `vmap(AutoReset(from_gymnax(name)).step)`: the same work through the adapter.
- `VectorEnv`: `VectorEnv(from_gymnax(name), B)`, what PPO steps (a reset per env-step).
- `VectorEnv pool`: `VectorEnv(..., num_resets=B // 16)`: the exact reset pool (fewer resets).

The ratio columns are each row's median per-round speed over gymnax's in the same round, by
wall-clock time and by this process's CPU time (steadier on a shared machine: other
processes' load stretches wall time but not the CPU time this one uses).

    python benchmarks/gymnax_adapter_overhead.py --batch-sizes 256 4096 --num-steps 1000
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnax
import jax

from marlax.envs import AutoReset, VectorEnv
from marlax.envs.adapters import from_gymnax

MODES = ("gymnax", "adapter", "VectorEnv", "VectorEnv pool")
POOL_DIVISOR = 16


def gymnax_rollout(name: str, num_envs: int, num_steps: int) -> Callable:
    """jit(key -> summed reward) of T steps of B gymnax envs, gymnax's own auto-reset."""
    env, params = gymnax.make(name)
    num_actions = env.action_space(params).n

    def _run(key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(key)
        _, state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(reset_key, num_envs), params
        )

        def _body(state, step_key):
            action_key, env_key = jax.random.split(step_key)
            actions = jax.random.randint(action_key, (num_envs,), 0, num_actions)
            _, state, reward, _, _, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(env_key, num_envs), state, actions, params
            )
            return state, reward.sum()

        _, rewards = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
        return rewards.sum()

    return jax.jit(_run)


def marlax_rollout(name: str, num_envs: int, num_steps: int, mode: str) -> Callable:
    """The same rollout through the adapter; `mode`: "adapter", "VectorEnv", "VectorEnv pool"."""
    env = from_gymnax(name)
    num_actions = env.action_space.n
    if mode == "adapter":
        wrapped = AutoReset(env)
        reset = jax.vmap(wrapped.reset)

        def step(key, state, actions):
            return jax.vmap(wrapped.step)(jax.random.split(key, num_envs), state, actions)
    else:
        pool = max(1, num_envs // POOL_DIVISOR) if mode == "VectorEnv pool" else None
        vector = VectorEnv(env, num_envs=num_envs, num_resets=pool)

        def reset(keys):
            return vector.reset(keys[0])

        step = vector.step

    def _run(key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(key)
        _, state = reset(jax.random.split(reset_key, num_envs))

        def _body(state, step_key):
            action_key, env_key = jax.random.split(step_key)
            actions = jax.random.randint(action_key, (num_envs, 1), 0, num_actions)
            _, state, reward, _, _ = step(env_key, state, actions)
            return state, reward.sum()

        _, rewards = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
        return rewards.sum()

    return jax.jit(_run)


def compare(name: str, num_envs: int, num_steps: int, repeats: int) -> list[tuple]:
    """(mode, compile s, env-steps/s of the median round, median per-round ratio to gymnax)."""
    key = jax.random.key(0)
    compiled, compile_s = {}, {}
    for mode in MODES:
        start = time.perf_counter()
        if mode == "gymnax":
            fn = gymnax_rollout(name, num_envs, num_steps)
        else:
            fn = marlax_rollout(name, num_envs, num_steps, mode)
        compiled[mode] = fn.lower(key).compile()
        compile_s[mode] = time.perf_counter() - start
        compiled[mode](key).block_until_ready()  # warm-up
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu_seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    for repeat in range(repeats):
        for mode in MODES:
            start, cpu_start = time.perf_counter(), time.process_time()
            compiled[mode](jax.random.key(repeat + 1)).block_until_ready()
            seconds[mode].append(time.perf_counter() - start)
            cpu_seconds[mode].append(time.process_time() - cpu_start)
    env_steps = num_envs * num_steps
    rows = []
    for mode in MODES:
        rate = env_steps / statistics.median(seconds[mode])
        rows.append(
            (
                mode,
                compile_s[mode],
                rate,
                _median_ratio(seconds["gymnax"], seconds[mode]),
                _median_ratio(cpu_seconds["gymnax"], cpu_seconds[mode]),
            )
        )
    return rows


def _median_ratio(reference: list[float], measured: list[float]) -> float:
    """Median over rounds of reference time / measured time (> 1: faster than the reference)."""
    return statistics.median(r / m for r, m in zip(reference, measured, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="MemoryChain-bsuite")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"{args.env}, T = {args.num_steps} steps, random actions, {jax.devices()[0].platform}")
    print(
        "\n| B | stepping | compile s | env-steps/s (wall) | speed vs gymnax, wall | "
        "speed vs gymnax, CPU time |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for num_envs in args.batch_sizes:
        for mode, compile_s, rate, wall_ratio, cpu_ratio in compare(
            args.env, num_envs, args.num_steps, args.repeats
        ):
            print(
                f"| {num_envs} | {mode} | {compile_s:.1f} | {rate:,.0f} | {wall_ratio:.2f} | "
                f"{cpu_ratio:.2f} |"
            )


if __name__ == "__main__":
    main()
