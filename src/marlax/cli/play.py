"""`marlax play ENV`: play an env in a window, or watch/record random agents with `--random`.

Examples:
    marlax play grid_return        # window: arrows move agent 0, space attacks, d digs
    marlax play grid_return --random --video-path demo.mp4 --steps 200
    marlax play nback --random     # prints per-episode returns
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marlax.envs.base import Env
from marlax.envs.registry import make
from marlax.play.record import EpisodeReturn, episode_returns, jitted_rollout, render_frames
from marlax.play.settings import parse_settings
from marlax.validate import require_int, require_positive_int


def register(app: typer.Typer) -> None:
    """Add the `play` command to the marlax app."""
    app.command("play")(play_command)


def play_command(
    env_name: str = typer.Argument(..., metavar="ENV", help="Registered env name (marlax envs)."),
    settings: list[str] = typer.Option(  # noqa: B008 - typer declares options in defaults
        [], "--set", help="Env setting key=value, value as JSON (repeatable): --set width=30."
    ),
    random: bool = typer.Option(False, "--random", help="No window: every agent acts randomly."),
    video_path: Path | None = typer.Option(  # noqa: B008
        None, "--video-path", help="Write the frames to this .mp4 or .gif."
    ),
    pov: int = typer.Option(0, "--pov", help="Index of the agent you control / highlight."),
    steps: int | None = typer.Option(
        None, "--steps", help="Steps to play (default: one episode with --random, else until Esc)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the episode's PRNG key."),
    fps: float = typer.Option(10.0, "--fps", help="Frames per second of the window and video."),
) -> None:
    """Play ENV with the keyboard, or watch random agents (--random) and record a video."""
    env = make(env_name, **parse_settings(settings))
    _check_options(env, pov=pov, steps=steps, fps=fps, video_path=video_path)
    key = jax.random.key(seed)
    console = Console()
    if random:
        episodes = _play_random(env, key, steps or env.max_steps, video_path, fps, console)
    else:
        episodes = _play_window(env_name, env, key, pov, steps, video_path, fps, console)
    for index, episode in enumerate(episodes, start=1):
        console.print(describe_episode(index, episode), highlight=False)


def _check_options(
    env: Env, *, pov: int, steps: int | None, fps: float, video_path: Path | None
) -> None:
    """ConfigError for options out of range, before anything compiles."""
    require_int("pov", pov, 0, env.num_agents - 1)
    if steps is not None:
        require_positive_int("steps", steps)
    from marlax.runs.video import check_playback

    check_playback(fps, video_path)


def _play_random(
    env: Env, key: jax.Array, num_steps: int, video_path: Path | None, fps: float, console: Console
) -> list[EpisodeReturn]:
    """One scanned rollout of random agents; with `video_path`, frames rendered in a vmap."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("rollout (compiling)", total=num_steps)
        start = time.perf_counter()
        trajectory = jitted_rollout(key, env=env, num_steps=num_steps)
        jax.block_until_ready(trajectory)
        progress.update(task, completed=num_steps)
        if video_path is not None:
            from marlax.runs.video import write_video

            frames_task = progress.add_task("frames", total=num_steps + 1)

            def _frames_with_progress():
                for chunk in render_frames(env, trajectory.states):
                    yield chunk
                    progress.advance(frames_task, len(chunk))

            write_video(_frames_with_progress(), video_path, fps=fps)
    elapsed = time.perf_counter() - start
    if video_path is not None:
        console.print(
            f"wrote {video_path} ({num_steps + 1} frames) in {elapsed:.1f} s", highlight=False
        )
    return episode_returns(np.asarray(trajectory.reward), np.asarray(trajectory.done))


def _play_window(
    name: str,
    env: Env,
    key: jax.Array,
    pov: int,
    steps: int | None,
    video_path: Path | None,
    fps: float,
    console: Console,
) -> list[EpisodeReturn]:
    """The pygame window; the frames shown go to `video_path` when given."""
    from marlax.play.keymap import keymap_for
    from marlax.play.window import run_window

    keymap = keymap_for(name, env)
    console.print(f"keys: {keymap.describe()}; Esc quits", highlight=False)
    session, frames = run_window(
        env, key, keymap, pov=pov, fps=fps, num_steps=steps, title=f"marlax {name}"
    )
    if video_path is not None:
        from marlax.runs.video import write_video

        write_video(frames, video_path, fps=fps)
        console.print(f"wrote {video_path} ({len(frames)} frames)", highlight=False)
    unfinished = session.unfinished()
    return session.episodes + ([unfinished] if unfinished is not None else [])


def describe_episode(index: int, episode: EpisodeReturn) -> str:
    """One line: length and return (mean, min, max over agents)."""
    returns = episode.returns
    state = "" if episode.finished else " (unfinished)"
    per_agent = (
        f"return {returns[0]:.3f}"
        if returns.size == 1
        else f"mean return {returns.mean():.3f} (min {returns.min():.3f}, max {returns.max():.3f})"
    )
    return f"episode {index}{state}: {episode.length} steps, {per_agent}"
