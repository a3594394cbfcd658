"""Training throughput (rollout + learning): marlax PPO vs JaxMARL's IPPO on simple_spread.

Both sides use JaxMARL's `ippo_ff_mpe.yaml` hyperparameters and batch (T=128 steps per env,
4 epochs x 4 minibatches, 64-64 tanh, lr 2.5e-4 annealed, clip 0.2, ...) at each num_envs B.
A measurement is one jitted call that runs U updates (a `lax.scan` over updates on both
sides: JaxMARL's `train`, marlax's `Trainer.update` with `run.log_every = U`);
env-steps/s = B * T * U / seconds (median of `--repeats` calls, after a warm-up call).
Compile s = first call minus the median steady call. Every (library, B) cell runs in its own
subprocess, cells interleaved (jaxmarl B, marlax B, next B), so peak memory
(`ru_maxrss` after the runs minus after the imports) is per cell. Also marlax on
grid_return with the Transformer core (no peer).

Networks: "marlax" uses `ppo.critic = "independent"`, a separate 64-64 critic on the agent's
own observation next to the 64-64 actor: the shape of JaxMARL's ActorCritic (separate actor
and critic towers). "marlax-shared" (`critic = "shared"`, one torso with policy and value
heads, about half the dense-layer work) is listed for information. "marlax-nobootstrap" is
"marlax" with `ppo.bootstrap_truncation: false`: time limits end episodes as terminal states,
JaxMARL's semantics, so the critic does not also run on `final_obs` every step (the same work
per step as JaxMARL's IPPO).

Seeds as a vmap axis (`--seeded 10x16`, JaxMARL's own default of 10 seeds x 16 envs): marlax
with `run.num_seeds = S`, JaxMARL with `vmap(train)` over S keys; env-steps/s counts all seeds.

    python benchmarks/train_throughput.py --num-envs 64 160 256 1024 4096 --seeded 10x16 \
        --repeats 3 --markdown benchmarks/results/train_throughput.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
from rich.console import Console
from rich.table import Table

from jaxmarl_ippo import JAXMARL_IPPO_MPE_CONFIG
from marlax._xla_flags import with_safe_cpu_scheduler

MARLAX_RETURN_KEY = "return"
"""marlax's per-update metric: mean per-agent return of the episodes ended in the rollout."""
STEPS_PER_CALL = 262_144
"""Default U = max(1, this // (B * T)): about the same env steps in every timed call."""
LIBRARIES = ("jaxmarl", "marlax", "marlax-nobootstrap", "marlax-shared", "marlax-transformer")
TRANSFORMER = LIBRARIES[-1]
CELL_TIMEOUT_S = 900
"""A cell's subprocess is abandoned (reported as an error row) after this many seconds."""


def marlax_config(
    env_name: str,
    num_envs: int,
    *,
    log_every: int,
    num_updates: int,
    num_seeds: int = 1,
    seed: int = 0,
    model: str = "mlp",
    critic: str = "independent",
    bootstrap_truncation: bool = True,
    core: dict[str, Any] | None = None,
    encoder: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A marlax config dict with JaxMARL's IPPO-MPE hyperparameters at B = num_envs."""
    cfg = JAXMARL_IPPO_MPE_CONFIG
    model_section: dict[str, Any] = {"name": model}
    if model == "mlp":
        model_section["encoder"] = {"hidden_sizes": [64], "activation": cfg["ACTIVATION"]}
        model_section["core"] = {"hidden_sizes": [64], "activation": cfg["ACTIVATION"]}
    if core:
        model_section["core"] = dict(core)
    if encoder:
        model_section["encoder"] = dict(encoder)
    return {
        "env": {"name": env_name, "num_envs": num_envs},
        "model": model_section,
        "ppo": {
            "total_env_steps": num_envs * cfg["NUM_STEPS"] * num_updates,
            "rollout_length": cfg["NUM_STEPS"],
            "num_epochs": cfg["UPDATE_EPOCHS"],
            "num_minibatches": cfg["NUM_MINIBATCHES"],
            "gamma": cfg["GAMMA"],
            "gae_lambda": cfg["GAE_LAMBDA"],
            "clip_eps": cfg["CLIP_EPS"],
            "value_clip_eps": cfg["CLIP_EPS"],  # their value loss clips with CLIP_EPS too
            "entropy_coef": cfg["ENT_COEF"],
            "value_coef": cfg["VF_COEF"],
            "max_grad_norm": cfg["MAX_GRAD_NORM"],
            "learning_rate": cfg["LR"],
            "anneal_lr": cfg["ANNEAL_LR"],
            "normalize_advantages": True,
            "critic": critic,
            "bootstrap_truncation": bootstrap_truncation,
        },
        "run": {
            "seed": seed,
            "num_seeds": num_seeds,
            "log_every": log_every,
            "checkpoint_every": log_every,
            "devices": 1,
        },
    }


def jaxmarl_call(num_envs: int, num_updates: int, num_seeds: int = 1) -> Callable[[int], Any]:
    """call(i) runs JaxMARL's whole `train` (U updates in its scan) on key i, blocking.

    With `num_seeds` > 1 the seeds are a vmap axis over `train`, as in JaxMARL's own `main`."""
    from jaxmarl_ippo import make_train

    config = dict(
        JAXMARL_IPPO_MPE_CONFIG,
        NUM_ENVS=num_envs,
        TOTAL_TIMESTEPS=num_envs * JAXMARL_IPPO_MPE_CONFIG["NUM_STEPS"] * num_updates,
    )
    if num_seeds == 1:
        train = jax.jit(make_train(config))

        def _call(index: int) -> Any:
            return jax.block_until_ready(train(jax.random.key(index))["metrics"])

        return _call
    train_seeds = jax.jit(jax.vmap(make_train(config)))

    def _call(index: int) -> Any:
        keys = jax.random.split(jax.random.key(index), num_seeds)
        return jax.block_until_ready(train_seeds(keys)["metrics"])

    return _call


def marlax_call(
    env_name: str, model: str, num_envs: int, num_updates: int, **settings: Any
) -> Callable:
    """call(i) runs one `Trainer.update` (U updates in one jitted scan), blocking.

    `settings` go to `marlax_config` (critic, core, encoder, num_seeds)."""
    from marlax.algorithms.ppo.trainer import Trainer
    from marlax.config import load_from_dict

    raw = marlax_config(
        env_name, num_envs, log_every=num_updates, num_updates=num_updates, model=model, **settings
    )
    trainer = Trainer(load_from_dict(raw))
    holder = {"state": jax.block_until_ready(trainer.init(jax.random.key(0)))}

    def _call(index: int) -> Any:
        holder["state"], metrics = trainer.update(holder["state"])  # the state is donated
        return jax.block_until_ready((holder["state"], metrics))

    return _call


def measure_cell(
    library: str,
    num_envs: int,
    num_updates: int,
    repeats: int,
    transformer: dict | None = None,
    num_seeds: int = 1,
) -> dict:
    """Time one (library, S x B) cell in this process: compile s, env-steps/s (all S seeds
    together), peak-memory delta.

    `transformer`: {"core": ..., "encoder": ..., "critic": ...} settings of the Transformer rows.
    """
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seeds = {"num_seeds": num_seeds}
    if library == "jaxmarl":
        call = jaxmarl_call(num_envs, num_updates, num_seeds)
    elif library == "marlax":
        call = marlax_call("simple_spread", "mlp", num_envs, num_updates, **seeds)
    elif library == "marlax-nobootstrap":
        call = marlax_call(
            "simple_spread", "mlp", num_envs, num_updates, bootstrap_truncation=False, **seeds
        )
    elif library == "marlax-shared":
        call = marlax_call("simple_spread", "mlp", num_envs, num_updates, critic="shared", **seeds)
    else:
        call = marlax_call("grid_return", "transformer", num_envs, num_updates, **transformer)
    start = time.perf_counter()
    call(0)  # compile + first run
    first_s = time.perf_counter() - start
    runs = []
    for index in range(1, repeats + 1):
        start = time.perf_counter()
        call(index)
        runs.append(time.perf_counter() - start)
    steady_s = statistics.median(runs)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steps = num_seeds * num_envs * JAXMARL_IPPO_MPE_CONFIG["NUM_STEPS"] * num_updates
    return {
        "library": library,
        "num_seeds": num_seeds,
        "num_envs": num_envs,
        "updates": num_updates,
        "compile_s": max(0.0, first_s - steady_s),
        "steady_s": steady_s,
        "steps_per_s": steps / steady_s,
        "peak_mb": (peak_kb - base_kb) / 1024,
    }


def run_cell_subprocess(
    library: str,
    num_envs: int,
    num_updates: int,
    repeats: int,
    transformer: dict,
    num_seeds: int = 1,
) -> dict:
    """`measure_cell` in a fresh interpreter, so its memory and compile cache are its own."""
    command = [sys.executable, __file__, "--cell", library, str(num_envs)]
    command += ["--updates", str(num_updates), "--repeats", str(repeats)]
    command += ["--cell-seeds", str(num_seeds)]
    command += ["--transformer", json.dumps(transformer)]
    # every cell, JaxMARL's included, runs with the XLA:CPU scheduler flag `import marlax`
    # sets: without it JaxMARL's vmap(train) over seeds deadlocks here as marlax's did
    environ = dict(os.environ, XLA_FLAGS=with_safe_cpu_scheduler(os.environ.get("XLA_FLAGS", "")))
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=CELL_TIMEOUT_S,
            env=environ,
        )
    except subprocess.TimeoutExpired:
        error = f"no result in {CELL_TIMEOUT_S} s (hung)"
        return {"library": library, "num_seeds": num_seeds, "num_envs": num_envs, "error": error}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    return {
        "library": library,
        "num_seeds": num_seeds,
        "num_envs": num_envs,
        "error": done.stderr.strip()[-400:],
    }


def _updates_for(num_envs: int, updates: int | None) -> int:
    return updates or max(1, STEPS_PER_CALL // (num_envs * JAXMARL_IPPO_MPE_CONFIG["NUM_STEPS"]))


def _shape(result: dict) -> str:
    """B, or SxB when seeds are a vmap axis (e.g. 10x16)."""
    seeds = result.get("num_seeds", 1)
    return str(result["num_envs"]) if seeds == 1 else f"{seeds}x{result['num_envs']}"


def _parse_shape(text: str) -> tuple[int, int]:
    """Parse SxB: 10x16 is (10 seeds, 16 envs)."""
    seeds, envs = text.lower().split("x")
    return int(seeds), int(envs)


def _rows(results: list[dict]) -> list[list[str]]:
    """Table rows; ratio = marlax / JaxMARL env-steps/s at the same S x B."""
    peer = {
        _shape(r): r["steps_per_s"]
        for r in results
        if r["library"] == "jaxmarl" and "error" not in r
    }
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["library"], _shape(r), "-", "-", "-", "-", "error"])
            continue
        ratio = "-"
        comparable = r["library"].startswith("marlax") and r["library"] != TRANSFORMER
        if comparable and _shape(r) in peer:
            ratio = f"{r['steps_per_s'] / peer[_shape(r)]:.2f}x"
        rows.append(
            [
                r["library"],
                _shape(r),
                str(r["updates"]),
                f"{r['compile_s']:.1f}",
                f"{r['steps_per_s']:,.0f}",
                f"{r['peak_mb']:,.0f}",
                ratio,
            ]
        )
    return rows


COLUMNS = ("library", "B (S x B)", "U", "compile s", "env-steps/s", "peak MB", "marlax/JaxMARL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", nargs="*", type=int, default=[64, 256, 1024, 4096])
    parser.add_argument(
        "--seeded",
        nargs="*",
        default=["10x16"],
        help="S x B shapes with S seeds as a vmap axis (JaxMARL's IPPO default is 10x16)",
    )
    parser.add_argument("--transformer-num-envs", nargs="*", type=int, default=[16])
    parser.add_argument("--transformer-updates", type=int, default=1, help="U, Transformer rows")
    parser.add_argument("--transformer-repeats", type=int, default=1)
    parser.add_argument(
        "--transformer",
        type=json.loads,
        default={},
        help='JSON {"core": {...}, "encoder": {...}, "critic": ...} for the Transformer rows',
    )
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--updates", type=int, default=None, help="U per timed call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", default=None, help="also write the table here")
    parser.add_argument("--note", default="", help="a line for the markdown (machine, load)")
    parser.add_argument("--cell", nargs=2, metavar=("LIBRARY", "B"), help=argparse.SUPPRESS)
    parser.add_argument("--cell-seeds", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.cell:
        library, num_envs = args.cell[0], int(args.cell[1])
        seeds = args.cell_seeds
        updates = _updates_for(seeds * num_envs, args.updates)
        cell = measure_cell(library, num_envs, updates, args.repeats, args.transformer, seeds)
        print("RESULT " + json.dumps(cell), flush=True)
        return

    console = Console()
    shapes = [(1, b) for b in args.num_envs] + [_parse_shape(text) for text in args.seeded]
    plan = [(lib, s, b) for s, b in shapes for lib in args.libraries if lib != TRANSFORMER]
    if TRANSFORMER in args.libraries:
        plan += [(TRANSFORMER, 1, b) for b in args.transformer_num_envs]
    results = []
    for library, seeds, num_envs in plan:
        updates, repeats = _updates_for(seeds * num_envs, args.updates), args.repeats
        if library == TRANSFORMER:
            updates, repeats = args.transformer_updates, args.transformer_repeats
        results.append(
            run_cell_subprocess(library, num_envs, updates, repeats, args.transformer, seeds)
        )
        console.log(results[-1])

    title = f"train env-steps/s (T=128, 4x4 minibatch epochs), {jax.devices()[0].platform}"
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "library" else "right")
    for row in _rows(results):
        table.add_row(*row)
    console.print(table)
    if args.markdown:
        lines = [
            "# Training throughput: marlax PPO vs JaxMARL IPPO (simple_spread), marlax Transformer",
            "",
            f"Command: `python {shlex.join(sys.argv)}`"
            f" ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {jax.devices()[0].platform},"
            f" {os.cpu_count()} cores). {args.note}",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|---" + "|---:" * (len(COLUMNS) - 1) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
        with open(args.markdown, "w") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
