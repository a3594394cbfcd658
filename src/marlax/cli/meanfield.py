"""`marlax meanfield run|load`: mean-field subsample Q-learning from a config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from marlax.errors import ConfigError
from marlax.runs.folder import DEFAULT_RUNS_DIR, RunFolder
from marlax.runs.naming import new_run_name

LEARNER_NAME = "meanfield_q"
"""The learner's name in the run's status.json (`marlax runs` shows it)."""

meanfield_app = typer.Typer(
    help="Mean-field subsample Q-learning (SUBSAMPLE-MFQ).", no_args_is_help=True
)


def _parse_ints(field: str, tokens: list[str]) -> tuple[int, ...]:
    values = []
    for token in tokens:
        for part in token.replace(",", " ").split():
            try:
                values.append(int(part))
            except ValueError:
                raise ConfigError(field, part, "an integer") from None
    return tuple(values)


def _split_config_and_ks(config: str | None, extra: list[str]) -> tuple[Path | None, list[str]]:
    """`--k 2 3 ...`: click gives the first value to --k and the rest as loose tokens."""
    loose = list(extra)
    if config is not None and config.lstrip("-").isdigit() and not Path(config).exists():
        loose.insert(0, config)
        config = None
    return (None if config is None else Path(config)), loose


def _results_table(results, semantics: str) -> Table:
    table = Table(title=f"SUBSAMPLE-MFQ ({semantics})")
    for column in ("k", "states", "Q entries", "train s", "deploy s", "return (mean ± std)"):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            str(result.k),
            f"{result.num_states:,}",
            f"{result.num_entries:,}",
            f"{result.train_seconds:.2f}",
            f"{result.deploy_seconds:.2f}",
            f"{result.mean_return:.4f} ± {result.std_return:.4f}",
        )
    return table


@meanfield_app.command(
    "run", context_settings={"allow_extra_args": True, "ignore_unknown_options": False}
)
def run_command(
    context: typer.Context,
    config: Annotated[
        str | None, typer.Argument(help="Config JSON (default: built-in example).")
    ] = None,
    k: Annotated[
        list[str] | None, typer.Option("--k", help="Subsample sizes: --k 2 3 4 (default 2..n).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every random draw.")] = 0,
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="Folder of runs (marlax runs lists them).")
    ] = DEFAULT_RUNS_DIR,
    name: Annotated[
        str | None, typer.Option("--name", help="Run name (default: a fresh adjective-animal-NN).")
    ] = None,
    semantics: Annotated[str, typer.Option("--semantics", help="paper | reference.")] = "paper",
    trust_config: Annotated[
        bool, typer.Option("--trust-config", help="Run the config's Python without the sandbox.")
    ] = False,
) -> None:
    """Learn Q_k for each k, deploy it on all n agents; plot, results and Q-tables go to a run
    folder (`marlax runs` lists it, `marlax clean` removes it)."""
    from marlax.algorithms.meanfield_q.config import validate_ks
    from marlax.algorithms.meanfield_q.run import check_semantics

    config_path, loose = _split_config_and_ks(config, list(context.args))
    if loose and not k:
        raise ConfigError("arguments", loose, "a config path, then options")
    check_semantics(semantics)
    raw, parsed = _read_config(config_path)
    ks = validate_ks(_parse_ints("k", list(k or []) + loose) or None, parsed, semantics)
    settings = {
        "learner": LEARNER_NAME,
        "config_path": None if config_path is None else str(config_path),
        "semantics": semantics,
        "seed": seed,
        "ks": list(ks),
        "trust_config": trust_config,
        "config": raw,
    }
    folder = RunFolder.create(runs_dir, name or new_run_name(runs_dir), settings)
    folder.write_status("running", learner=LEARNER_NAME, ks=list(ks))
    console = Console()
    console.print(f"run [bold]{folder.name}[/bold] ({folder.path})")
    try:
        results = _train_and_save(folder, parsed, settings, console)
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"
        folder.write_status("failed", learner=LEARNER_NAME, message=message)
        raise
    best = max((result.mean_return for result in results), default=None)
    folder.write_status("finished", learner=LEARNER_NAME, ks=list(ks), best_return=best)
    console.print(f"wrote {folder.path}/")


def _read_config(config_path: Path | None) -> tuple[dict, Any]:
    """The raw config (for config.json) and the parsed one; the built-in example for None."""
    from marlax.algorithms.meanfield_q import builtin_config_dict, load_config, parse_config

    if config_path is None:
        raw = builtin_config_dict()
        return raw, parse_config(raw)
    parsed = load_config(config_path)  # validates, and says what is wrong with the file
    return json.loads(config_path.read_text(encoding="utf-8")), parsed


def _train_and_save(folder: RunFolder, parsed: Any, settings: dict, console: Console) -> list:
    """Every k with a progress bar; Q-tables, results.json and the plot into `folder`."""
    from marlax.algorithms.meanfield_q import run_meanfield, save_q, write_results
    from marlax.algorithms.meanfield_q.plot import plot_cumulative_rewards

    ks = settings["ks"]
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"k = {ks[0]}", total=len(ks))

        def _on_result(result, trained) -> None:
            save_q(folder.path / f"q_k{result.k}.npz", trained, parsed)
            progress.console.print(
                f"k={result.k:>3}  states={result.num_states:,}  entries={result.num_entries:,}"
                f"  train={result.train_seconds:.2f}s  return={result.mean_return:.4f}"
                f" ± {result.std_return:.4f}"
            )
            following = [value for value in ks if value > result.k]
            progress.update(
                task, advance=1, description=f"k = {following[0] if following else 'done'}"
            )

        results = run_meanfield(
            parsed,
            ks=tuple(ks),
            seed=settings["seed"],
            semantics=settings["semantics"],
            trust=settings["trust_config"],
            on_result=_on_result,
        )
    console.print(_results_table(results, settings["semantics"]))
    metadata = {
        "config": settings["config_path"],
        "semantics": settings["semantics"],
        "seed": settings["seed"],
        "ks": list(ks),
        "num_local_agents": parsed.simulation.num_local_agents,
        "horizon": parsed.simulation.horizon,
        "deployment_runs": parsed.simulation.deployment_runs,
    }
    write_results(folder.path / "results.json", results, metadata)
    if parsed.save_plot:
        plot_cumulative_rewards(
            folder.path / parsed.plot_filename,
            [result.k for result in results],
            [result.mean_curve for result in results],
            [result.std_curve for result in results],
        )
    return results


@meanfield_app.command("load")
def load_command(
    path: Annotated[Path, typer.Argument(help="A q_k{K}.npz file.")],
    global_state: Annotated[float | None, typer.Option("--global-state", help="Query s_g.")] = None,
    counts: Annotated[
        str | None, typer.Option("--counts", help="Query counts, e.g. 1,1,0.")
    ] = None,
) -> None:
    """Summarise a saved Q-table; with --global-state and --counts, print its greedy action."""
    from marlax.algorithms.meanfield_q import load_q

    loaded = load_q(path)
    console = Console()
    console.print(
        f"{path}: semantics={loaded.semantics} k={loaded.k} states={loaded.num_states:,}"
        f" q{list(loaded.q.shape)} max Q={loaded.q.max():.4f} gamma={loaded.discount_factor}"
    )
    if (global_state is None) != (counts is None):
        raise ConfigError("--counts", counts, "both --global-state and --counts, or neither")
    if global_state is not None:
        answer = loaded.greedy_action(global_state, _parse_ints("counts", [counts]))
        console.print(answer)


def register(app: typer.Typer) -> None:
    """Add the `meanfield` sub-app to the root `marlax` app."""
    app.add_typer(meanfield_app, name="meanfield")
