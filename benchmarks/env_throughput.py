"""Environment throughput: env-steps/s of jit(vmap(step)) with auto-reset, against peers.

For every marlax env and batch size B, a `lax.scan` of T steps of a `VectorEnv`
(uniform random legal actions, auto-reset) runs inside one jit; steps/s = B*T/seconds
(median of repeats, after compile). Every step's observations are summed into the output:
a rollout that returned only rewards would let XLA drop the observation computation (dead
code), which a learner cannot skip (so rates measured before 2026-12-01, which did drop it,
are higher than what a learner sees). Compile time is measured separately. In the same
run: JaxMARL's `MPE_simple_spread_v3` (its `step` auto-resets too) and PettingZoo/mpe2's
numpy `simple_spread_v3` (one env, stepped serially: its rate does not grow with B).

    python benchmarks/env_throughput.py --batch-sizes 1 64 1024 4096 --markdown out.md

`--compare-resets K` times four auto-reset modes of the same rollout *interleaved* (one run
of each mode in turn, repeated; medians and per-round ratios), so a shared machine loads
them alike: `full` (`VectorEnv(env, B)`, a reset per env-step), `pool` (the exact reset pool,
`num_resets=B // K`), `optimistic` (the pre-fix pool: the k-th finished env took fresh
episode k mod B//K, so episodes repeat; kept here only to price exactness) and `step-only`
(no auto-reset at all: the ceiling). `--seeds S` vmaps the rollout over S seeds, as PPO does.

    python benchmarks/env_throughput.py --compare-resets 16 --batch-sizes 64 1024 --seeds 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.table import Table

from marlax.envs import VectorEnv, list_envs, make
from marlax.envs.spaces import Discrete
from marlax.envs.wrappers.autoreset import select_tree


def _random_actions(key: jax.Array, env, state) -> jax.Array:
    space = env.action_space
    if isinstance(space, Discrete):
        logits = jnp.where(env.action_mask(state), 0.0, -jnp.inf)
        return jax.random.categorical(key, logits, axis=-1)
    return space.sample(key, (env.num_agents,))


RESET_MODES = ("full", "pool", "optimistic", "step-only")


def observation_checksum(obs) -> jax.Array:
    """f32[]: the sum of every observation leaf, so XLA must compute them (not dead code)."""
    return sum(jnp.sum(leaf, dtype=jnp.float32) for leaf in jax.tree.leaves(obs))


def _optimistic_step(vector: VectorEnv, key: jax.Array, state, actions: jax.Array):
    """The pre-fix pooled step: R fresh episodes shared out k mod R (episodes repeat)."""
    pool = vector.num_resets
    step_key, reset_key = jax.random.split(key)
    step_keys = jax.random.split(step_key, vector.num_envs)
    obs, state, reward, done, _ = jax.vmap(vector.env.step)(step_keys, state, actions)
    fresh_obs, fresh = jax.vmap(vector.env.reset)(jax.random.split(reset_key, pool))
    index = (jnp.cumsum(done) - 1) % pool
    fresh, fresh_obs = jax.tree.map(lambda leaf: leaf[index], (fresh, fresh_obs))
    return select_tree(done, fresh, state), reward, select_tree(done, fresh_obs, obs)


def _step_function(vector: VectorEnv, mode: str) -> Callable:
    """`(key, state, actions) -> (state, reward, obs)` of one batched step in an auto-reset
    mode."""
    if mode == "optimistic":
        return partial(_optimistic_step, vector)
    if mode == "step-only":

        def _step_only(key, state, actions):
            keys = jax.random.split(key, vector.num_envs)
            obs, state, reward, _, _ = jax.vmap(vector.env.step)(keys, state, actions)
            return state, reward, obs

        return _step_only
    if mode == "full":
        vector = dataclasses.replace(vector, num_resets=None)

    def _vector_step(key, state, actions):
        obs, state, reward, _, _ = vector.step(key, state, actions)
        return state, reward, obs

    return _vector_step


def marlax_rollout(
    name: str,
    params: dict,
    num_envs: int,
    num_steps: int,
    num_resets: int | None,
    mode: str = "pool",
    num_seeds: int = 0,
):
    """A jitted function key -> summed reward + observation checksum of a T-step random
    rollout of B envs.

    `mode` is one of `RESET_MODES` ("pool" with `num_resets=None` is the exact full reset);
    `num_seeds` S >= 1 vmaps the rollout over S seeds (B envs each), 0 runs it once.
    """
    env = make(name, **params)
    vector = VectorEnv(env, num_envs=num_envs, num_resets=num_resets)
    step = _step_function(vector, mode)

    def _run(key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(key)
        _, state = vector.reset(reset_key)

        def _body(state, step_key):
            action_key, env_key = jax.random.split(step_key)
            actions = jax.vmap(_random_actions, in_axes=(0, None, 0))(
                jax.random.split(action_key, num_envs), env, state
            )
            state, reward, obs = step(env_key, state, actions)
            return state, reward.sum() + observation_checksum(obs)

        _, totals = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
        return totals.sum()

    if num_seeds == 0:
        return jax.jit(_run)
    return jax.jit(lambda key: jax.vmap(_run)(jax.random.split(key, num_seeds)).sum())


def jaxmarl_rollout(num_envs: int, num_steps: int):
    """The same measurement for JaxMARL's MPE_simple_spread_v3 (dict API, auto-reset in step)."""
    import jaxmarl

    env = jaxmarl.make("MPE_simple_spread_v3")
    agents = env.agents

    def _run(key: jax.Array) -> jax.Array:
        reset_key, loop_key = jax.random.split(key)
        _, state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

        def _body(state, step_key):
            action_key, env_key = jax.random.split(step_key)
            action_keys = jax.random.split(action_key, len(agents))
            actions = {
                agent: jax.random.randint(action_keys[i], (num_envs,), 0, 5)
                for i, agent in enumerate(agents)
            }
            obs, state, reward, _, _ = jax.vmap(env.step)(
                jax.random.split(env_key, num_envs), state, actions
            )
            return state, sum(reward[a].sum() for a in agents) + observation_checksum(obs)

        _, totals = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
        return totals.sum()

    return jax.jit(_run)


def time_jitted(fn: Callable, repeats: int) -> tuple[float, float]:
    """(compile seconds, median run seconds) of a jitted key -> array function."""
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = fn.lower(key).compile()
    compile_s = time.perf_counter() - start
    compiled(key).block_until_ready()  # warm-up
    runs = []
    for repeat in range(repeats):
        start = time.perf_counter()
        compiled(jax.random.key(repeat + 1)).block_until_ready()
        runs.append(time.perf_counter() - start)
    return compile_s, statistics.median(runs)


def compare_resets(
    name: str,
    params: dict,
    num_envs: int,
    num_steps: int,
    pool_divisor: int,
    num_seeds: int,
    repeats: int,
) -> list[tuple[str, float, float, float]]:
    """Time every auto-reset mode of one (env, B, S), interleaved round by round.

    Returns:
        (mode, compile s, env-steps/s from the median round, median over rounds of
        this mode's speed-up over `full` in the same round) per mode of `RESET_MODES`.
    """
    pool = max(1, num_envs // pool_divisor)
    key = jax.random.key(0)
    compiled, compile_s = {}, {}
    for mode in RESET_MODES:
        start = time.perf_counter()
        fn = marlax_rollout(name, params, num_envs, num_steps, pool, mode, num_seeds)
        compiled[mode] = fn.lower(key).compile()
        compile_s[mode] = time.perf_counter() - start
        compiled[mode](key).block_until_ready()  # warm-up
    seconds: dict[str, list[float]] = {mode: [] for mode in RESET_MODES}
    for repeat in range(repeats):
        for mode in RESET_MODES:
            start = time.perf_counter()
            compiled[mode](jax.random.key(repeat + 1)).block_until_ready()
            seconds[mode].append(time.perf_counter() - start)
    env_steps = num_envs * num_steps * max(1, num_seeds)
    return [
        (
            mode,
            compile_s[mode],
            env_steps / statistics.median(seconds[mode]),
            statistics.median(
                full / own for full, own in zip(seconds["full"], seconds[mode], strict=True)
            ),
        )
        for mode in RESET_MODES
    ]


def _compare_resets_main(args: argparse.Namespace, console: Console) -> None:
    """`--compare-resets K`: the interleaved auto-reset table, printed and optionally saved."""
    lines = [
        "| env | B | seeds | mode | compile s | env-steps/s | x full |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for name in args.envs or list_envs():
        for num_seeds in args.seeds:
            for num_envs in args.batch_sizes:
                rows = compare_resets(
                    name,
                    _env_params(args),
                    num_envs,
                    args.steps,
                    args.compare_resets,
                    num_seeds,
                    args.repeats,
                )
                for mode, compile_s, rate, speedup in rows:
                    lines.append(
                        f"| {name} | {num_envs} | {max(1, num_seeds)} | {mode} | "
                        f"{compile_s:.2f} | {rate:,.0f} | {speedup:.2f} |"
                    )
                console.log("\n".join(lines[-len(rows) :]))
    console.print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write("\n".join(lines) + "\n")


def _env_params(args: argparse.Namespace) -> dict:
    """Env settings from the command line: only `max_steps`, when given."""
    return {} if args.max_steps is None else {"max_steps": args.max_steps}


def pettingzoo_steps_per_second(num_steps: int) -> float:
    """Serial env-steps/s of mpe2's numpy simple_spread_v3 (N=3, discrete), with resets."""
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(N=3, max_cycles=25)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(num_steps):
        if not env.agents:
            env.reset()
        env.step({agent: int(rng.integers(5)) for agent in env.agents})
    return num_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", nargs="*", default=None, help="marlax env names (default: all)")
    parser.add_argument("--batch-sizes", nargs="*", type=int, default=[1, 64, 1024, 4096])
    parser.add_argument("--steps", type=int, default=100, help="scan length T per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--reset-pool",
        type=int,
        default=0,
        help="VectorEnv num_resets = B // this (0: num_resets=None, a reset per env-step)",
    )
    parser.add_argument(
        "--compare-resets",
        type=int,
        default=0,
        help="time the auto-reset modes interleaved, pool = B // this (0: the usual table)",
    )
    parser.add_argument(
        "--seeds",
        nargs="*",
        type=int,
        default=[0],
        help="with --compare-resets: vmap the rollout over this many seeds (0: no vmap)",
    )
    parser.add_argument(
        "--max-steps", type=int, default=None, help="episode length of every env (default: its own)"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip JaxMARL and PettingZoo")
    parser.add_argument("--markdown", default=None, help="also write the table here")
    args = parser.parse_args()

    console = Console()
    if args.compare_resets:
        _compare_resets_main(args, console)
        return
    rows: list[tuple[str, int, float, float]] = []
    names = args.envs or list_envs()
    for name in names:
        for num_envs in args.batch_sizes:
            pool = None if args.reset_pool == 0 else max(1, num_envs // args.reset_pool)
            fn = marlax_rollout(name, _env_params(args), num_envs, args.steps, pool)
            compile_s, run_s = time_jitted(fn, args.repeats)
            rows.append((f"marlax {name}", num_envs, compile_s, num_envs * args.steps / run_s))
            console.log(f"{name} B={num_envs}: {rows[-1][3]:,.0f} steps/s")
    if not args.no_peers:
        for num_envs in args.batch_sizes:
            compile_s, run_s = time_jitted(jaxmarl_rollout(num_envs, args.steps), args.repeats)
            rows.append(
                ("jaxmarl MPE_simple_spread_v3", num_envs, compile_s, num_envs * args.steps / run_s)
            )
            console.log(f"jaxmarl B={num_envs}: {rows[-1][3]:,.0f} steps/s")
        serial = pettingzoo_steps_per_second(3000)
        rows.append(("pettingzoo mpe2 simple_spread_v3 (serial numpy)", 1, 0.0, serial))

    table = Table(title=f"env-steps/s, T={args.steps}, {jax.devices()[0].platform}")
    for column in ("env", "B", "compile s", "env-steps/s"):
        table.add_column(column, justify="right" if column != "env" else "left")
    for env_name, num_envs, compile_s, rate in rows:
        table.add_row(env_name, str(num_envs), f"{compile_s:.2f}", f"{rate:,.0f}")
    console.print(table)
    if args.markdown:
        lines = ["| env | B | compile s | env-steps/s |", "|---|---:|---:|---:|"]
        lines += [f"| {n} | {b} | {c:.2f} | {r:,.0f} |" for n, b, c, r in rows]
        with open(args.markdown, "w") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
