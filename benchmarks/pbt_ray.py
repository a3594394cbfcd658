"""Wall-clock of one PBT config trained in-graph and on Ray actors (`pbt.backend`), same steps.

Both runs go through `marlax.algorithms.pbt.loop.train_run` into a temporary runs folder; the
Ray run starts its own local Ray (its start-up and every member's compile are in its wall, as a
user pays them). Final mean return is the last metric line's (mean over members).

    python benchmarks/pbt_ray.py --config configs/pbt_ray_simple_spread.json \\
        --set ppo.total_env_steps=163840 --set run.num_seeds=4 --set pbt.member_cpus=0.5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from marlax.algorithms.common.run_folders import create_run
from marlax.algorithms.pbt.loop import train_run
from marlax.config import load_config


def timed_run(config_path: str, overrides: list[str], backend: str, runs_dir: Path) -> dict:
    """Train one backend; its wall-clock seconds, env steps (all members) and final return."""
    settings = [*overrides, f"pbt.backend={backend}", f"run.runs_dir={runs_dir}"]
    settings.append(f"run.name=pbt-{backend}")
    config = load_config(config_path, settings)
    started = time.perf_counter()
    result = train_run(create_run(config), config)
    wall = time.perf_counter() - started
    steps = result.env_steps * config.run.num_seeds
    return {"backend": backend, "wall": wall, "steps": steps, "final": result.final_score}


def markdown(rows: list[dict]) -> str:
    lines = [
        "| backend | wall (s) | env-steps (all members) | env-steps/s | final return |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        final = "-" if row["final"] is None else f"{row['final']:.2f}"
        lines.append(
            f"| {row['backend']} | {row['wall']:.1f} | {row['steps']:,} | "
            f"{row['steps'] / row['wall']:,.0f} | {final} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/pbt_ray_simple_spread.json")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as runs_dir:
        rows = [
            timed_run(args.config, args.overrides, backend, Path(runs_dir))
            for backend in ("in_graph", "ray")
        ]
    print(markdown(rows))


if __name__ == "__main__":
    main()
