"""Ablation table: each learning-quality option of issue 16 switched on alone, at equal env steps.

Variants (overrides applied after the cell's config and `--set`):
- `baseline`: the cell as configured;
- `hl_gauss`: `ppo.value_head = "hl_gauss"` over `--value-range` (value clipping off, as the
  head requires), else as the baseline;
- `muon`: `optimizer.name = "muon"`;
- `gqa`: the Transformer with `num_kv_heads = 1` (only for transformer cells);
- `bf16`: `model.dtype = "bfloat16"`.

Each variant trains `--seeds` seeds (a vmap axis) with `benchmarks/learning.py`'s `run_cell`
(same training, same evaluation on the same fresh episodes) and the table gives the final
score (mean return per agent; for n-back also the worst greedy accuracy over n), its spread
over seeds and the wall-clock of training + evaluation.

    python benchmarks/ablation.py --cell nback_transformer --budget-scale 1 --seeds 2 \\
        --set ppo.gamma=0.0 --value-range 0 1 --markdown benchmarks/results/ablation_nback.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from learning import CELLS, run_cell
from marlax.config import load_config

VARIANTS = ("baseline", "hl_gauss", "muon", "gqa", "bf16")


def variant_overrides(
    name: str, value_range: tuple[float, float], transformer: bool
) -> list[str] | None:
    """The overrides that switch one option on ([] for the baseline; None where the option does
    not apply, GQA on a model without attention)."""
    low, high = value_range
    table = {
        "baseline": [],
        "hl_gauss": [
            'ppo.value_head="hl_gauss"',
            "ppo.value_clip_eps=null",
            f"ppo.value_range=[{low}, {high}]",
        ],
        "muon": ['optimizer.name="muon"'],
        "gqa": ["model.core.num_kv_heads=1"] if transformer else None,
        "bf16": ['model.dtype="bfloat16"'],
    }
    return table[name]


def score(row: dict) -> tuple[float, float, str]:
    """(mean, std over seeds) of the final return per agent, and the worst greedy n-back
    accuracy over seeds and n (or "-")."""
    trained = np.asarray(row["trained"])
    accuracy = row["accuracy"]
    worst = "-" if accuracy is None else f"{np.nanmin(np.asarray(accuracy['greedy'])):.2f}"
    return float(trained.mean()), float(trained.std()), worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", required=True, help="a cell label of benchmarks/learning.py")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-scale", type=float, default=1.0)
    parser.add_argument("--value-range", type=float, nargs=2, default=(-10.0, 10.0))
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", default=None, help="merge result rows into this JSON file")
    parser.add_argument("--markdown", default=None, help="write the table here")
    args = parser.parse_args()

    cell = {c.label: c for c in CELLS}[args.cell]
    model = load_config(cell.path, [*cell.overrides, *args.overrides]).model.name
    done: dict[str, dict] = {}
    if args.json and Path(args.json).exists():
        done = json.loads(Path(args.json).read_text())
    for name in args.variants:
        overrides = variant_overrides(name, tuple(args.value_range), model == "transformer")
        if overrides is None or name in done:
            continue
        extra = (*args.overrides, *overrides)
        row = run_cell(cell, args.budget_scale, args.seeds, args.seed, False, extra)[0]
        done[name] = row
        mean, std, worst = score(row)
        print(f"{name}: {mean:.3f} +- {std:.3f} worst acc {worst} ({row['seconds']:.0f} s)")
        if args.json:
            Path(args.json).write_text(json.dumps(done, default=float))
    lines = [
        f"{args.cell} ({model}), {args.seeds} seeds, budget scale {args.budget_scale},"
        f" common overrides {args.overrides or 'none'}",
        "",
        "| variant | env steps | return per agent | worst greedy accuracy | wall s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in done.items():
        mean, std, worst = score(row)
        lines.append(
            f"| {name} | {row['env_steps']:,} | {mean:.3f} +- {std:.3f} | {worst} |"
            f" {row['seconds']:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
