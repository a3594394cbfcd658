"""`marlax eval --ensemble RUN RUN ...`: the ensemble and each of its members, on the same
episodes; the ensemble's report goes to <runs_dir>/ensembles/<rule>-<members>.json.

The ensemble is assembled by `marlax.evaluation.ensemble.load_ensemble` (member checks,
weights by rule, members that fail to load dropped and reported).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marlax.validate import require, require_number

ENSEMBLES_DIR = "ensembles"


def parse_weights(text: str | None) -> tuple[float, ...] | None:
    """'0.5,0.3,0.2' -> (0.5, 0.3, 0.2); None stays None."""
    if text is None:
        return None
    try:
        weights = tuple(float(part) for part in text.split(","))
    except ValueError:
        weights = ()
    require(bool(weights), "weights", text, "comma-separated numbers, one per member")
    return tuple(require_number("weights", weight, 0.0) for weight in weights)


def evaluate_ensemble(runs_dir: Path, specs: list[str], settings: Any, request: Any) -> list[str]:
    """Load the ensemble, play it and its members on the same keys, write its report.

    Returns:
        The lines to print: members used and dropped, weights, each policy's summary, and
        P(X > Y) between the ensemble and every member.
    """
    from marlax.evaluation.comparison import comparison_lines, groups_of_episodes
    from marlax.evaluation.ensemble import load_ensemble
    from marlax.evaluation.episodes import check_episode_settings
    from marlax.evaluation.report import evaluation_lines

    ensemble = load_ensemble(runs_dir, specs, request)
    check_episode_settings(ensemble.env, settings.episodes)
    label = f"ensemble[{request.rule}]"
    players = [(label, ensemble.policy)] + [
        (used, member.policy)
        for used, member in zip(ensemble.members_used, ensemble.members, strict=True)
    ]
    evaluations = _play_all(players, ensemble, settings)
    path = runs_dir / ENSEMBLES_DIR / f"{request.rule}-{'+'.join(ensemble.members_used)}.json"
    _write_report(path, evaluations[0], ensemble, request)
    lines = _ensemble_lines(ensemble, request)
    lines += evaluation_lines(evaluations)
    lines += comparison_lines(groups_of_episodes(evaluations), "episodes")
    return [*lines, f"wrote {path}"]


def _play_all(players: list[tuple[str, Any]], ensemble: Any, settings: Any) -> list[Any]:
    """One `RunEvaluation` per (name, policy), every one on the episodes of `settings.seed`."""
    from marlax.evaluation.episodes import jitted_run_episodes
    from marlax.evaluation.report import RunEvaluation
    from marlax.evaluation.summary import summarize_episodes
    from marlax.evaluation.wins import win_condition

    first = ensemble.members[0]
    has_win = win_condition(ensemble.env) is not None
    evaluations = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        bar = progress.add_task("evaluating", total=len(players))
        for name, policy in players:
            progress.update(bar, description=f"{name}: {settings.episodes} episodes")
            results = jitted_run_episodes(
                jax.random.key(settings.seed),
                env=ensemble.env,
                policy=policy,
                num_episodes=settings.episodes,
            )
            episodes = summarize_episodes(results, has_win=has_win)
            evaluations.append(
                RunEvaluation(
                    run=name,
                    algorithm="ensemble" if name.startswith("ensemble") else first.algorithm,
                    task=first.task,
                    checkpoint=first.update,
                    env_steps=first.env_steps,
                    settings=settings,
                    seeds=((0, episodes),),
                )
            )
            progress.advance(bar)
    return evaluations


def _write_report(path: Path, evaluation: Any, ensemble: Any, request: Any) -> None:
    """The ensemble's eval.json content plus how it was made (atomic)."""
    from marlax.evaluation.report import eval_json
    from marlax.runs.atomic import write_json_atomic
    from marlax.runs.jsonable import jsonable

    report = eval_json(evaluation)
    report["ensemble"] = jsonable(
        {
            "rule": request.rule,
            "members_used": list(ensemble.members_used),
            "dropped": dict(ensemble.dropped),
            "weights": ensemble.weights.tolist(),
            "temperature": request.temperature if request.rule == "bma" else None,
            "validation_returns": None
            if ensemble.validation_returns is None
            else ensemble.validation_returns.tolist(),
            "validation_episodes": request.validation_episodes,
            "validation_seed": request.validation_seed,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, report)


def _ensemble_lines(ensemble: Any, request: Any) -> list[str]:
    """Which members took part, with which weights; which were dropped and why."""
    lines = [f"ensemble rule {request.rule}: {len(ensemble.members_used)} members"]
    returns = ensemble.validation_returns
    for index, (name, weight) in enumerate(
        zip(ensemble.members_used, ensemble.weights, strict=True)
    ):
        extra = "" if returns is None else f"  (validation return {returns[index]:.3f})"
        lines.append(f"  {name}: weight {weight:.3f}{extra}")
    lines += [f"  dropped {name}: {reason}" for name, reason in ensemble.dropped.items()]
    return lines
