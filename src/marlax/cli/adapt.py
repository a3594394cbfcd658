"""`marlax adapt RUN`: return before and after each adaptation step on held-out tasks.

Examples:
    marlax adapt bold-otter-07 --task-seed 7                     # a MAML run: 0..3 inner steps
    marlax adapt bold-otter-07 --task-seed 7 --steps 5 --tasks 64
    marlax adapt calm-fox-12 --task-seed 7           # an RL² run: episode 1..k of a trial
    marlax adapt calm-fox-12 --env-set target_high=3.0           # on a shifted task distribution
    marlax adapt keen-owl-03 --steps 5 --lr 1e-3    # a PPO run with model.next_obs_head: TTT

Writes adapt.json and adapt.png into the run folder (`marlax.evaluation.adaptation`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from marlax.runs.folder import DEFAULT_RUNS_DIR


def register(app: typer.Typer) -> None:
    """Add the `adapt` command to the marlax app."""
    app.command("adapt")(adapt_command)


def adapt_command(
    run: str = typer.Argument(
        ..., metavar="RUN", help="A maml, rl2 or varibad run, or a ppo run with next_obs_head."
    ),
    task_seed: int = typer.Option(0, "--task-seed", help="Seed of the held-out tasks' draw."),
    tasks: int = typer.Option(32, "--tasks", help="Held-out tasks to average over."),
    steps: int | None = typer.Option(
        None,
        "--steps",
        help="Adaptation steps (maml: inner steps, default 3; rl2/varibad: episodes after "
        "the first, default as trained; ppo: test-time training steps, default 5).",
    ),
    episodes: int = typer.Option(
        8, "--episodes", help="ppo test-time training: episodes played per step."
    ),
    learning_rate: float = typer.Option(
        1e-3, "--lr", help="ppo test-time training: Adam's step size."
    ),
    gradient_steps: int = typer.Option(
        4, "--gradient-steps", help="ppo test-time training: Adam steps per adaptation step."
    ),
    env_set: list[str] | None = typer.Option(  # noqa: B008 - typer declares options in defaults
        None, "--env-set", help="A family setting changed from training (a shift), repeatable."
    ),
    seed_index: int = typer.Option(0, "--seed-index", help="Which trained seed adapts."),
    checkpoint: int | None = typer.Option(None, "--checkpoint", help="Default: the latest."),
    episode_seed: int = typer.Option(0, "--seed", help="Seed of the episodes' draws."),
    greedy: bool = typer.Option(
        False, "--greedy", help="rl2/varibad: act by the mode instead of sampling."
    ),
    runs_dir: Path = typer.Option(  # noqa: B008
        DEFAULT_RUNS_DIR, "--runs-dir", help="Folder that holds the run folders."
    ),
) -> None:
    """Adapt a meta-trained RUN to held-out tasks; print and write the return per step."""
    from marlax.cli.eval import parse_env_set
    from marlax.evaluation.adapt_run import AdaptRequest, adapt_run
    from marlax.evaluation.adaptation import adaptation_lines, write_adaptation

    request = AdaptRequest(
        task_seed=task_seed,
        tasks=tasks,
        steps=steps,
        seed_index=seed_index,
        checkpoint=checkpoint,
        episode_seed=episode_seed,
        env_overrides=parse_env_set(env_set or []),
        greedy=greedy,
        episodes=episodes,
        learning_rate=learning_rate,
        gradient_steps=gradient_steps,
    )
    with Console(stderr=True).status(f"adapting {run} to {tasks} held-out task(s)"):
        curve = adapt_run(runs_dir, run, request)
    json_path, plot_path = write_adaptation(Path(runs_dir) / run, curve)
    console = Console(soft_wrap=True)
    for line in [*adaptation_lines(curve), f"wrote {json_path} and {plot_path}"]:
        console.print(line, highlight=False, markup=False)
