"""`curves.png`: return per task and each loss against environment steps.

    plot_curves(read_metrics(run.metrics_path), run.curves_path)

Uses matplotlib's Agg canvas directly (no pyplot state, no display needed), and
replaces the PNG atomically so a viewer never opens a half-written image.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from marlax.runs.atomic import write_atomic

_PANEL_SIZE = (4.5, 3.2)  # inches per subplot
_MAX_COLUMNS = 3


def curve_panels(rows: list[dict]) -> list[tuple[str, list[str]]]:
    """The subplots to draw: `(title, keys)`, returns first, then one per `loss/*` key.

    Returns use one line per `return/<task>` key, or the single `return` key when
    no per-task keys exist. Keys appear in the order they first occur in `rows`.
    """
    keys = list(dict.fromkeys(key for row in rows for key in row))
    task_returns = [key for key in keys if key.startswith("return/")]
    returns = task_returns or [key for key in keys if key == "return"]
    panels = [("return", returns)] if returns else []
    panels += [(key, [key]) for key in keys if key.startswith("loss/")]
    return panels


def plot_curves(rows: list[dict], out_path: Path) -> None:
    """Write the return and loss curves of metric rows to a PNG at `out_path`.

    Args:
        rows: metric rows (`read_metrics`), each with `env_steps`; missing or null
            values leave gaps.
        out_path: the PNG to (re)write; with no plottable rows it says "no data yet".
    """
    panels = curve_panels(rows)
    columns = max(1, min(_MAX_COLUMNS, len(panels)))
    panel_rows = max(1, math.ceil(len(panels) / columns))
    figure = Figure(figsize=(_PANEL_SIZE[0] * columns, _PANEL_SIZE[1] * panel_rows))
    FigureCanvasAgg(figure)
    if not panels:
        figure.text(0.5, 0.5, "no data yet", ha="center", va="center", fontsize=16)
    for index, (title, keys) in enumerate(panels):
        axes = figure.add_subplot(panel_rows, columns, index + 1)
        for key in keys:
            steps, values = _series(rows, key)
            axes.plot(steps, values, label=key.removeprefix("return/"))
        axes.set_title(title)
        axes.set_xlabel("env steps")
        axes.set_ylabel("return" if title == "return" else title.removeprefix("loss/"))
        axes.grid(alpha=0.3)
        if len(keys) > 1:
            axes.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomic(Path(out_path), buffer.getvalue())


def _series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    """x = env_steps, y = the key's value (NaN where null) over the rows that hold the key."""
    steps, values = [], []
    for row in rows:
        if key in row and "env_steps" in row:
            steps.append(row["env_steps"])
            values.append(math.nan if row[key] is None else float(row[key]))
    return steps, values
