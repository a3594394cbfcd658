"""`marlax enjoy RUN`: watch, record, or play along with a trained policy (any learner).

Examples:
    marlax enjoy bold-otter-07                           # window: the policy plays every agent
    marlax enjoy bold-otter-07 --video-path demo.mp4 --episodes 3    # headless, prints returns
    marlax enjoy bold-otter-07 --human --pov             # you are agent 0, the policy the rest
    marlax enjoy bold-otter-07 --selector grid_return --seed-index 1 --sample
    marlax enjoy --ensemble run-a run-b run-c:1 --rule soft_vote --video-path team.mp4
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import typer
from rich.console import Console

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.cli.play import describe_episode
from marlax.envs.base import Env
from marlax.play.record import (
    EpisodeReturn,
    episode_returns,
    jitted_rollout,
    render_frames,
    steps_for_episodes,
)
from marlax.runs.folder import DEFAULT_RUNS_DIR
from marlax.validate import require, require_positive_int


def register(app: typer.Typer) -> None:
    """Add the `enjoy` command to the marlax app."""
    app.command("enjoy")(enjoy_command)


def enjoy_command(
    names: list[str] = typer.Argument(  # noqa: B008 - typer declares arguments in defaults
        ..., metavar="RUN...", help="Run name (marlax runs); several with --ensemble."
    ),
    runs_dir: Path = typer.Option(  # noqa: B008 - typer declares options in defaults
        DEFAULT_RUNS_DIR, "--runs-dir", help="Folder that holds the run folders."
    ),
    video_path: Path | None = typer.Option(  # noqa: B008
        None,
        "--video-path",
        help="Write the frames to this .mp4 or .gif (headless without --human).",
    ),
    episodes: int = typer.Option(1, "--episodes", help="Episodes to play."),
    selector: str | None = typer.Option(
        None, "--selector", help="Task to play, by name or index (default: the first)."
    ),
    seed_index: int = typer.Option(0, "--seed-index", help="Which trained seed plays."),
    human: bool = typer.Option(False, "--human", help="The keyboard drives agent 0."),
    pov: bool = typer.Option(False, "--pov", help="Show agent 0's view beside the map (window)."),
    sample: bool = typer.Option(False, "--sample", help="Sample actions instead of the mode."),
    fps: float = typer.Option(10.0, "--fps", help="Frames per second of the window and video."),
    seed: int = typer.Option(0, "--seed", help="Seed of the episodes' PRNG key."),
    ensemble: bool = typer.Option(
        False, "--ensemble", help="The RUNs (RUN or RUN:SEED) play as one ensemble policy."
    ),
    rule: str = typer.Option(
        "average", "--rule", help="Ensemble rule: average, weighted, bma, soft_vote or vote."
    ),
    weights: str | None = typer.Option(
        None, "--weights", help="Ensemble member weights, e.g. 0.5,0.3,0.2."
    ),
) -> None:
    """Watch RUN's latest checkpoint play, record it (--video-path), or play along (--human)."""
    _check_options(episodes=episodes, fps=fps, video_path=video_path)
    console = Console()
    if ensemble:
        env_name, env, policy = _load_ensemble(
            console, runs_dir, names, rule, weights, selector, sample
        )
    else:
        require(len(names) == 1, "run", names, "one RUN (several only with --ensemble)")
        env_name, env, policy = _load_one(console, runs_dir, names[0], selector, seed_index, sample)
    key = jax.random.key(seed)
    if video_path is not None and not human:
        if pov:
            console.print("--pov shows in the window only: the video holds the map")
        played = record_policy(env, policy, key, episodes, video_path, fps)
        console.print(f"wrote {video_path}", highlight=False)
    else:
        played = _watch(env_name, env, policy, key, episodes, video_path, fps, human, pov)
    for index, episode in enumerate(played, start=1):
        console.print(describe_episode(index, episode), highlight=False)


def _load_one(
    console: Console,
    runs_dir: Path,
    name: str,
    selector: str | None,
    seed_index: int,
    sample: bool,
) -> tuple[str, Env, MemoryPolicy]:
    """(keymap name, env, policy) of one run's seed, after saying what it is."""
    from marlax.algorithms.trained import load_run_policy

    trained = load_run_policy(
        runs_dir, name, selector=selector, seed_index=seed_index, sample=sample
    )
    console.print(
        f"{name}: {trained.algorithm}, update {trained.update}, {trained.env_steps} env steps; "
        f"task {trained.task}, seed {seed_index}",
        highlight=False,
    )
    return trained.env_name, trained.env, trained.policy


def _load_ensemble(
    console: Console,
    runs_dir: Path,
    specs: list[str],
    rule: str,
    weights: str | None,
    selector: str | None,
    sample: bool,
) -> tuple[str, Env, MemoryPolicy]:
    """(keymap name, env, policy) of an ensemble of runs, after listing its members."""
    from marlax.cli.ensemble_eval import parse_weights
    from marlax.evaluation.ensemble import EnsembleRequest, load_ensemble

    request = EnsembleRequest(
        rule=rule, weights=parse_weights(weights), sample=sample, selector=selector
    )
    loaded = load_ensemble(runs_dir, specs, request)
    members = ", ".join(
        f"{name} ({weight:.3f})"
        for name, weight in zip(loaded.members_used, loaded.weights, strict=True)
    )
    console.print(f"ensemble {rule} of {members}", highlight=False)
    for name, reason in loaded.dropped.items():
        console.print(f"dropped {name}: {reason}", highlight=False, markup=False)
    return loaded.members[0].env_name, loaded.env, loaded.policy


def _check_options(*, episodes: int, fps: float, video_path: Path | None) -> None:
    """ConfigError for options out of range, before a run is loaded."""
    require_positive_int("episodes", episodes)
    from marlax.runs.video import check_playback

    check_playback(fps, video_path)


def record_policy(
    env: Env,
    policy: MemoryPolicy,
    key: jax.Array,
    num_episodes: int,
    video_path: Path,
    fps: float,
) -> list[EpisodeReturn]:
    """Play `num_episodes` episodes in one scanned rollout and write their frames.

    The rollout runs `num_episodes * env.max_steps` steps (every episode ends by then) and is
    cut after the last wanted episode: the video holds the reset frame, then one frame per
    step, 1 + sum of the episode lengths in all.

    Returns:
        The episodes' returns.
    """
    from marlax.runs.video import write_video

    trajectory = jitted_rollout(
        key, env=env, num_steps=num_episodes * env.max_steps, memory_policy=policy
    )
    done = np.asarray(trajectory.done)
    steps = steps_for_episodes(done, num_episodes)
    write_video(render_frames(env, trajectory.states, num_frames=steps + 1), video_path, fps=fps)
    return episode_returns(np.asarray(trajectory.reward)[:steps], done[:steps])


def _watch(
    keymap_name: str,
    env: Env,
    policy: MemoryPolicy,
    key: jax.Array,
    num_episodes: int,
    video_path: Path | None,
    fps: float,
    human: bool,
    pov: bool,
) -> list[EpisodeReturn]:
    """The window: the policy plays (agent 0 by keyboard with `human`) until the episodes end
    or Esc; the frames shown go to `video_path` when given."""
    from marlax.play.keymap import keymap_for
    from marlax.play.session import PlaySession
    from marlax.play.window import run_session_window

    session = PlaySession(env, key, 0, policy, controlled=human, show_view=pov)
    keymap = keymap_for(keymap_name, env)
    if human:
        Console().print(f"keys: {keymap.describe()}; Esc quits", highlight=False)
    role = "you are agent 0" if human else "watching"
    frames = run_session_window(
        session,
        keymap,
        caption=f"marlax enjoy - {role} - Esc quits",
        fps=fps,
        human=human,
        num_episodes=num_episodes,
    )
    if video_path is not None:
        from marlax.runs.video import write_video

        write_video(frames, video_path, fps=fps)
        Console().print(f"wrote {video_path} ({len(frames)} frames)", highlight=False)
    unfinished = session.unfinished()
    return session.episodes + ([unfinished] if unfinished is not None else [])
