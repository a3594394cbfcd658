"""`marlax merge RUN [RUN ...] --out NAME`: one run whose parameters average the members'.

Examples:
    marlax merge run-a run-b run-c --out merged-abc                 # equal weights
    marlax merge run-a run-b:1 --out merged --weights 0.7,0.3 --rule weighted
    marlax merge run-a run-b run-c --out merged --rule bma          # from validation returns

Members are PPO runs (RUN or RUN:SEED) of one architecture. The merged run is an ordinary
one-seed run: `marlax enjoy merged`, `marlax eval merged`, or fine-tune it with
`marlax train --resume merged`. Compare it with the ensemble of the same members:
`marlax eval --ensemble run-a run-b run-c`. Averaging members that do not share an
initialisation usually fails (BENCHMARKS.md, merged models).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from marlax.runs.folder import DEFAULT_RUNS_DIR
from marlax.validate import require, require_choice, require_positive_int

MERGE_RULES = ("uniform", "weighted", "bma")


def register(app: typer.Typer) -> None:
    """Add the `merge` command to the marlax app."""
    app.command("merge")(merge_command)


def merge_command(
    runs: list[str] = typer.Argument(  # noqa: B008 - typer declares arguments in defaults
        ..., metavar="RUN...", help="Member runs, RUN or RUN:SEED (PPO, one architecture)."
    ),
    out: str = typer.Option(..., "--out", help="Name of the merged run to create."),
    rule: str = typer.Option(
        "uniform", "--rule", help="uniform, weighted (--weights) or bma (validation returns)."
    ),
    weights: str | None = typer.Option(None, "--weights", help="Member weights, e.g. 0.7,0.3."),
    temperature: float = typer.Option(
        1.0, "--temperature", help="bma: weights = softmax(validation return / temperature)."
    ),
    validation_episodes: int = typer.Option(
        64, "--validation-episodes", help="bma: episodes per member that set the weights."
    ),
    checkpoint: int | None = typer.Option(
        None, "--checkpoint", help="Checkpoint step of every member (default: each's latest)."
    ),
    runs_dir: Path = typer.Option(  # noqa: B008
        DEFAULT_RUNS_DIR, "--runs-dir", help="Folder that holds the run folders."
    ),
) -> None:
    """Average RUNs' parameters into a new run (a merged model)."""
    from marlax.algorithms.merge.runs import merge_ppo_runs
    from marlax.cli.ensemble_eval import parse_weights

    require_choice("rule", rule, MERGE_RULES)
    given = parse_weights(weights)
    require(
        (given is not None) == (rule == "weighted"),
        "weights",
        weights,
        "--weights with --rule weighted, and only then",
    )
    if rule == "bma":
        given = _bma_weights(runs_dir, runs, temperature, validation_episodes, checkpoint)
    result = merge_ppo_runs(runs_dir, runs, out, list(given) if given else None, checkpoint)
    console = Console()
    for name, weight in zip(result.members, result.weights, strict=True):
        console.print(f"  {name}: weight {weight:.3f}", highlight=False)
    console.print(
        f"merged [bold]{result.folder.name}[/bold] ({result.folder.path}): update "
        f"{result.update}, {result.env_steps:,} env steps\n"
        f"watch it: marlax enjoy {result.folder.name}; compare: marlax eval --ensemble "
        + " ".join(result.members)
        + f" and marlax eval {result.folder.name}"
    )


def _bma_weights(
    runs_dir: Path,
    specs: list[str],
    temperature: float,
    validation_episodes: int,
    checkpoint: int | None,
) -> tuple[float, ...]:
    """The BMA posterior over members from their validation returns (as `eval --ensemble`)."""
    import numpy as np

    from marlax.evaluation.ensemble import EnsembleRequest, load_ensemble

    request = EnsembleRequest(
        rule="bma",
        temperature=temperature,
        validation_episodes=require_positive_int("validation_episodes", validation_episodes),
        checkpoint=checkpoint,
    )
    ensemble = load_ensemble(runs_dir, specs, request)
    require(not ensemble.dropped, "merge", dict(ensemble.dropped), "every member loadable")
    return tuple(float(weight) for weight in np.asarray(ensemble.weights))
