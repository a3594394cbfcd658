"""eval.json of a run and the report `marlax eval` prints.

    write_eval_json(run_dir / EVAL_FILE, RunEvaluation(...))     # atomic: old or new, never half
    for line in evaluation_lines([run_evaluation, ...]): print(line)

eval.json holds the settings used, every episode's returns and the summaries:

    {"run", "algorithm", "task", "checkpoint", "env_steps",
     "settings": {"episodes", "sample", "seed", "checkpoint", "env_overrides", "selector",
                  "seed_indices"},
     "method": {what the team return is, how the intervals are made},
     "summary": {"episodes", "team_return": {"mean", "ci95": [low, high]}, "length": {...},
                 "win_rate": {...} or null},                     # every seed's episodes pooled
     "seeds": [{"seed_index", "summary": {...}, "episodes": {"team_return": [E],
                "agent_returns": [E][N], "length": [E], "won": [E] or null}}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marlax.evaluation.stats import BOOTSTRAP_SEED, CONFIDENCE, NUM_RESAMPLES
from marlax.evaluation.summary import EpisodeEvaluation, Estimate, pooled
from marlax.runs.atomic import write_json_atomic
from marlax.runs.jsonable import jsonable

EVAL_FILE = "eval.json"
"""The file `marlax eval` writes into each run folder."""
TEAM_RETURN_MEANING = "mean over agents of each agent's undiscounted episode return"
METHOD = {
    "team_return": TEAM_RETURN_MEANING,
    "episodes_counted_until": "each episode's first done (termination or time limit)",
    "interval": f"{CONFIDENCE:.0%} percentile bootstrap over episodes",
    "resamples": NUM_RESAMPLES,
    "bootstrap_seed": BOOTSTRAP_SEED,
}


@dataclass(frozen=True)
class EvalSettings:
    """What `marlax eval` was asked for (recorded in eval.json)."""

    episodes: int
    sample: bool
    seed: int
    checkpoint: int | None  # the requested step; None = the latest
    env_overrides: dict[str, Any] = field(default_factory=dict)
    selector: str | None = None
    seed_indices: tuple[int, ...] | None = (0,)  # None = every seed


@dataclass(frozen=True)
class RunEvaluation:
    """Every evaluated seed of one run."""

    run: str
    algorithm: str
    task: str
    checkpoint: int  # the step evaluated
    env_steps: int
    settings: EvalSettings
    seeds: tuple[tuple[int, EpisodeEvaluation], ...]  # (seed index, its episodes)

    @property
    def pooled(self) -> EpisodeEvaluation:
        """Every seed's episodes together."""
        return pooled([evaluation for _, evaluation in self.seeds])


def eval_json(evaluation: RunEvaluation) -> dict:
    """The content of eval.json (see the module docstring); strict JSON (NaN as null)."""
    settings = evaluation.settings
    seed_indices = settings.seed_indices
    return jsonable(
        {
            "run": evaluation.run,
            "algorithm": evaluation.algorithm,
            "task": evaluation.task,
            "checkpoint": evaluation.checkpoint,
            "env_steps": evaluation.env_steps,
            "settings": {
                "episodes": settings.episodes,
                "sample": settings.sample,
                "seed": settings.seed,
                "checkpoint": settings.checkpoint,
                "env_overrides": dict(settings.env_overrides),
                "selector": settings.selector,
                "seed_indices": None if seed_indices is None else list(seed_indices),
            },
            "method": METHOD,
            "summary": evaluation.pooled.summary_json(),
            "seeds": [
                {
                    "seed_index": seed_index,
                    "summary": episodes.summary_json(),
                    "episodes": episodes.episodes_json(),
                }
                for seed_index, episodes in evaluation.seeds
            ],
        }
    )


def write_eval_json(path: Path, evaluation: RunEvaluation) -> None:
    """Write eval.json atomically: a reader sees the previous file or this one, never a mix."""
    write_json_atomic(path, eval_json(evaluation))


def evaluation_lines(evaluations: list[RunEvaluation]) -> list[str]:
    """The printed report: per run and seed, team return, length and win rate with 95% CIs."""
    lines = [
        f"team return = {TEAM_RETURN_MEANING}; [95% CI]: {METHOD['interval']}, "
        f"{NUM_RESAMPLES:,} resamples"
    ]
    for evaluation in evaluations:
        for seed_index, episodes in evaluation.seeds:
            lines += [
                f"{evaluation.run} seed {seed_index}: {evaluation.task}, checkpoint "
                f"{evaluation.checkpoint} ({evaluation.env_steps:,} env steps), "
                f"{episodes.num_episodes} episodes",
                f"  team return  {format_estimate(episodes.team_return)}",
                f"  length       {format_estimate(episodes.length, digits=1)}",
                f"  win rate     {format_estimate(episodes.win_rate)}",
            ]
    return lines


def format_estimate(value: Estimate | None, digits: int = 3) -> str:
    """'1.234 [1.100, 1.350]', or 'n/a' for None."""
    if value is None:
        return "n/a"
    return f"{value.mean:.{digits}f} [{value.low:.{digits}f}, {value.high:.{digits}f}]"
