"""`marlax eval RUN [RUN ...]`: evaluate trained policies with confidence intervals.

Examples:
    marlax eval bold-otter-07                          # 256 greedy episodes, latest checkpoint
    marlax eval bold-otter-07 --sample --episodes 1024 --seed 3
    marlax eval bold-otter-07 --env-set view_size=7 --env-set max_steps=256   # an env variant
    marlax eval bold-otter-07 --all-seeds --checkpoint 40
    marlax eval run-a run-b                                   # + IQM and P(X > Y) over episodes
    marlax eval --group ppo=r1,r2,r3 --group mappo=r4,r5,r6   # + IQM and P(X > Y) over runs
    marlax eval --ensemble r1 r2 r3:1 --rule soft_vote        # the runs as one policy
    marlax eval --ensemble r1 r2 r3 --rule bma --temperature 2 # weights from validation returns

With --ensemble the RUNs (RUN or RUN:SEED) act as one policy (`marlax.evaluation.ensemble`);
it and every member play the same episodes, and the ensemble's report is written to
<runs-dir>/ensembles/<rule>-<members>.json. Otherwise each RUN gets an eval.json (settings,
every episode's returns, the summaries); every run and seed plays the same episode keys
(`--seed`), so differences are not down to the draw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marlax.config.overrides import parse_value
from marlax.errors import ConfigError
from marlax.runs.folder import DEFAULT_RUNS_DIR
from marlax.validate import require, require_nonnegative_int, require_positive_int


def register(app: typer.Typer) -> None:
    """Add the `eval` command to the marlax app."""
    app.command("eval")(eval_command)


def eval_command(
    runs: list[str] | None = typer.Argument(  # noqa: B008 - typer declares arguments in defaults
        None, metavar="RUN...", help="Runs to evaluate (marlax runs)."
    ),
    episodes: int = typer.Option(256, "--episodes", help="Episodes per run and seed."),
    env_set: list[str] | None = typer.Option(  # noqa: B008
        None, "--env-set", help="Evaluate on a variant: env setting=value (JSON), repeatable."
    ),
    sample: bool = typer.Option(False, "--sample", help="Sample actions instead of the mode."),
    seed: int = typer.Option(0, "--seed", help="Seed of the episodes' PRNG key."),
    selector: str | None = typer.Option(
        None, "--selector", help="Task to evaluate, by name or index (default: the first)."
    ),
    seed_index: int = typer.Option(0, "--seed-index", help="Which trained seed plays."),
    all_seeds: bool = typer.Option(False, "--all-seeds", help="Evaluate every trained seed."),
    checkpoint: int | None = typer.Option(
        None, "--checkpoint", help="Checkpoint step to evaluate (default: the latest)."
    ),
    group: list[str] | None = typer.Option(  # noqa: B008
        None, "--group", help="NAME=run1,run2: compare groups of runs (repeatable)."
    ),
    runs_dir: Path = typer.Option(  # noqa: B008
        DEFAULT_RUNS_DIR, "--runs-dir", help="Folder that holds the run folders."
    ),
    ensemble: bool = typer.Option(
        False, "--ensemble", help="Evaluate the RUNs (RUN or RUN:SEED) as one ensemble policy."
    ),
    rule: str = typer.Option(
        "average", "--rule", help="Ensemble rule: average, weighted, bma, soft_vote or vote."
    ),
    weights: str | None = typer.Option(
        None, "--weights", help="Ensemble member weights, e.g. 0.5,0.3,0.2 (weighted, votes)."
    ),
    temperature: float = typer.Option(
        1.0, "--temperature", help="BMA: weights = softmax(validation return / temperature)."
    ),
    validation_episodes: int = typer.Option(
        64, "--validation-episodes", help="Episodes per member that set bma/weighted weights."
    ),
) -> None:
    """Evaluate RUNs' checkpoints: mean team return, episode length and win rate with 95% CIs."""
    from marlax.evaluation.report import EvalSettings

    overrides = parse_env_set(env_set or [])
    groups = parse_groups(group or [])
    names = list(
        dict.fromkeys([*(runs or []), *(run for members in groups.values() for run in members)])
    )
    require(bool(names), "run", None, "at least one RUN (or a --group NAME=run1,run2)")
    require(
        not (all_seeds and seed_index != 0),
        "seed_index",
        seed_index,
        "no --seed-index with --all-seeds",
    )
    settings = EvalSettings(
        episodes=require_positive_int("episodes", episodes),
        sample=sample,
        seed=require_nonnegative_int("seed", seed),
        checkpoint=None
        if checkpoint is None
        else require_nonnegative_int("checkpoint", checkpoint),
        env_overrides=overrides,
        selector=selector,
        seed_indices=None if all_seeds else (require_nonnegative_int("seed_index", seed_index),),
    )
    if ensemble:
        require(not groups and not all_seeds, "ensemble", names, "no --group or --all-seeds")
        _print(
            _ensemble_lines(  # every RUN as given: a run listed twice counts twice
                runs_dir,
                list(runs or []),
                settings,
                rule,
                weights,
                temperature,
                validation_episodes,
            )
        )
        return
    evaluations = evaluate_runs(runs_dir, names, settings)
    from marlax.evaluation.comparison import comparison_lines, groups_of_episodes, groups_of_runs
    from marlax.evaluation.report import evaluation_lines

    lines = evaluation_lines(list(evaluations.values()))
    if groups:
        named = {name: [evaluations[run] for run in members] for name, members in groups.items()}
        lines += comparison_lines(groups_of_runs(named), "runs")
    elif sum(len(evaluation.seeds) for evaluation in evaluations.values()) > 1:
        lines += comparison_lines(groups_of_episodes(list(evaluations.values())), "episodes")
    lines += [f"wrote {runs_dir / name / 'eval.json'}" for name in evaluations]
    _print(lines)


def _print(lines: list[str]) -> None:
    console = Console(soft_wrap=True)  # long lines stay whole: they are meant to be grepped
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _ensemble_lines(
    runs_dir: Path,
    specs: list[str],
    settings: Any,
    rule: str,
    weights: str | None,
    temperature: float,
    validation_episodes: int,
) -> list[str]:
    """`marlax eval --ensemble`: see `marlax.cli.ensemble_eval`."""
    from marlax.cli.ensemble_eval import evaluate_ensemble, parse_weights
    from marlax.evaluation.ensemble import EnsembleRequest

    request = EnsembleRequest(
        rule=rule,
        weights=parse_weights(weights),
        temperature=temperature,
        validation_episodes=require_positive_int("validation_episodes", validation_episodes),
        sample=settings.sample,
        selector=settings.selector,
        checkpoint=settings.checkpoint,
        env_overrides=settings.env_overrides,
    )
    return evaluate_ensemble(runs_dir, specs, settings, request)


def evaluate_runs(runs_dir: Path, names: list[str], settings: Any) -> dict[str, Any]:
    """Load every run first (so bad input fails before anything is written), then play each
    seed's episodes and write each run's eval.json. Returns run name -> `RunEvaluation`."""
    from marlax.algorithms.trained import load_run_policies
    from marlax.evaluation.episodes import check_episode_settings

    loaded = {
        name: load_run_policies(
            runs_dir,
            name,
            selector=settings.selector,
            seed_indices=settings.seed_indices,
            sample=settings.sample,
            checkpoint=settings.checkpoint,
            env_overrides=settings.env_overrides,
        )
        for name in names
    }
    for policies in loaded.values():
        check_episode_settings(policies[0].env, settings.episodes)
    total = sum(len(policies) for policies in loaded.values())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        bar = progress.add_task("evaluating", total=total)
        return {
            name: _evaluate_run(policies, settings, progress, bar)
            for name, policies in loaded.items()
        }


def _evaluate_run(policies: tuple, settings: Any, progress: Progress, bar: Any) -> Any:
    """Every seed of one run: its episodes, then the run's eval.json. Returns a RunEvaluation."""
    from marlax.evaluation.episodes import jitted_run_episodes
    from marlax.evaluation.report import EVAL_FILE, RunEvaluation, write_eval_json
    from marlax.evaluation.summary import summarize_episodes
    from marlax.evaluation.wins import win_condition

    seeds = []
    for run_policy in policies:
        progress.update(
            bar,
            description=f"{run_policy.folder.name} seed {run_policy.seed_index}: "
            f"{settings.episodes} episodes",
        )
        results = jitted_run_episodes(
            jax.random.key(settings.seed),
            env=run_policy.env,
            policy=run_policy.policy,
            num_episodes=settings.episodes,
        )
        has_win = win_condition(run_policy.env) is not None
        seeds.append((run_policy.seed_index, summarize_episodes(results, has_win=has_win)))
        progress.advance(bar)
    first = policies[0]
    evaluation = RunEvaluation(
        run=first.folder.name,
        algorithm=first.algorithm,
        task=first.task,
        checkpoint=first.update,
        env_steps=first.env_steps,
        settings=settings,
        seeds=tuple(seeds),
    )
    write_eval_json(first.folder.path / EVAL_FILE, evaluation)
    return evaluation


def parse_env_set(items: list[str]) -> dict[str, Any]:
    """['view_size=7', 'max_steps=64'] -> {'view_size': 7, 'max_steps': 64} (values as JSON)."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, equals, text = item.partition("=")
        key = key.strip()
        require(
            bool(equals) and key.isidentifier(), "env_set", item, "setting=value, e.g. view_size=7"
        )
        overrides[key] = parse_value(text)
    return overrides


def parse_groups(items: list[str]) -> dict[str, list[str]]:
    """['A=r1,r2', 'B=r3'] -> {'A': ['r1', 'r2'], 'B': ['r3']}; at least two groups."""
    groups: dict[str, list[str]] = {}
    for item in items:
        name, equals, members = item.partition("=")
        runs = [run.strip() for run in members.split(",") if run.strip()]
        require(bool(equals and name.strip() and runs), "group", item, "NAME=run1,run2,...")
        require(name.strip() not in groups, "group", item, "a group name used once")
        groups[name.strip()] = runs
    if groups and len(groups) < 2:
        raise ConfigError("group", items, "at least two --group options to compare")
    return groups
