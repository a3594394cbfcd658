"""`best_of_generation.png`: each generation's best and mean score, and every candidate's.

Drawn on matplotlib's Agg canvas (no pyplot state, no display) and written atomically, like
the training curves (`marlax.runs.plots`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from marlax.evolution.records import Record, generation_rows
from marlax.runs.atomic import write_atomic

_FIGURE_SIZE = (6.0, 4.0)  # inches


def plot_generations(records: Sequence[Record], out_path: Path, score_label: str) -> None:
    """Write the best-of-generation curve of `records` to a PNG at `out_path`.

    Args:
        records: the search's candidate records (`marlax.evolution.records`).
        out_path: the PNG to (re)write.
        score_label: the y axis label (what the score is).
    """
    figure = Figure(figsize=_FIGURE_SIZE)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    scored = [record for record in records if record["score"] is not None]
    axes.scatter(
        [record["generation"] for record in scored],
        [record["score"] for record in scored],
        s=14,
        color="0.6",
        label="candidates",
    )
    rows = [row for row in generation_rows(records) if row["best_score"] is not None]
    generations = [row["generation"] for row in rows]
    axes.plot(generations, [row["best_score"] for row in rows], "o-", label="best of generation")
    axes.plot(generations, [row["mean_score"] for row in rows], "--", label="mean of generation")
    axes.set_xlabel("generation")
    axes.set_ylabel(score_label)
    axes.set_xticks(sorted({record["generation"] for record in records}))
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomic(out_path, buffer.getvalue())


__all__ = ["plot_generations"]
