"""The report of `marlax adapt`: return before and after each adaptation step, on new tasks.

An adaptation curve has one point per step: step 0 is the policy as trained, step s the
policy after s adaptation steps (MAML: s inner policy-gradient steps on fresh trajectories;
RL²: the s-th episode of a trial, adapted in context by its memory). Each point pools the
team returns of every evaluated task (f64[tasks]) into a mean with a 95% percentile-bootstrap
interval. `adapt.json` and `adapt.png` are written into the run folder, atomically.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marlax.evaluation.summary import estimate
from marlax.runs.atomic import write_atomic, write_json_atomic

ADAPT_FILE = "adapt.json"
ADAPT_PLOT = "adapt.png"


@dataclass(frozen=True)
class AdaptationCurve:
    """Team returns per adaptation step of one run on held-out tasks.

    Attributes:
        run: the run's name.
        method: how it adapts ("maml: inner policy-gradient steps", "rl2: in context").
        step_label: what one step is ("inner step", "episode of the trial").
        returns: f64[steps + 1, tasks]: row s = return on each task after s steps.
        task_seed: the key the tasks were drawn from (`sample_task(key(task_seed))`).
        env_overrides: env settings changed from training (a distribution shift), or {}.
        losses: f64[steps + 1, tasks] the self-supervised loss at each point (test-time
            training: the next-observation error on the episodes of that point), or None.
    """

    run: str
    method: str
    step_label: str
    returns: np.ndarray
    task_seed: int
    env_overrides: dict
    losses: np.ndarray | None = None

    @property
    def estimates(self) -> list:
        """One `Estimate` (mean, ci95) per step."""
        return [estimate(row) for row in np.asarray(self.returns, np.float64)]


def adaptation_json(curve: AdaptationCurve) -> dict:
    """The adapt.json content: settings, per-step mean and interval, every task's return."""
    return {
        "run": curve.run,
        "method": curve.method,
        "step_label": curve.step_label,
        "task_seed": curve.task_seed,
        "tasks": int(curve.returns.shape[1]),
        "env_overrides": curve.env_overrides,
        "steps": [{"step": step, **point.to_json()} for step, point in enumerate(curve.estimates)],
        "returns": np.asarray(curve.returns, np.float64).tolist(),
        "self_supervised_loss": None
        if curve.losses is None
        else np.asarray(curve.losses, np.float64).tolist(),
    }


def adaptation_lines(curve: AdaptationCurve) -> list[str]:
    """The printed table: one line per step, with the change from step 0."""
    points = curve.estimates
    shift = f", env changed: {curve.env_overrides}" if curve.env_overrides else ""
    loss_header = "" if curve.losses is None else "  self-supervised loss"
    lines = [
        f"{curve.run}: {curve.method}; {curve.returns.shape[1]} task(s) from task seed "
        f"{curve.task_seed}{shift}",
        f"{curve.step_label:>22}  team return [95% CI]          change from step 0{loss_header}",
    ]
    for step, point in enumerate(points):
        change = point.mean - points[0].mean
        loss = "" if curve.losses is None else f"  {np.mean(curve.losses[step]):20.4f}"
        lines.append(
            f"{step:>22}  {point.mean:9.3f} [{point.low:9.3f}, {point.high:9.3f}]  {change:+9.3f}"
            f"{loss}"
        )
    return lines


def write_adaptation(folder: Path, curve: AdaptationCurve) -> tuple[Path, Path]:
    """Write adapt.json and adapt.png into `folder`; returns their paths."""
    json_path, plot_path = folder / ADAPT_FILE, folder / ADAPT_PLOT
    write_json_atomic(json_path, adaptation_json(curve))
    write_atomic(plot_path, _plot_png(curve))
    return json_path, plot_path


def _plot_png(curve: AdaptationCurve) -> bytes:
    """The curve with its interval band, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = curve.estimates
    steps = np.arange(len(points))
    figure, axis = plt.subplots(figsize=(5, 3.5))
    axis.plot(steps, [p.mean for p in points], "o-", label=curve.method.split(":")[0])
    axis.fill_between(steps, [p.low for p in points], [p.high for p in points], alpha=0.25)
    axis.set_xlabel(curve.step_label)
    axis.set_ylabel("team return")
    axis.set_xticks(steps)
    axis.set_title(curve.run)
    axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
