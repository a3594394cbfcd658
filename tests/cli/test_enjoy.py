"""`marlax enjoy RUN`: headless videos of N episodes, the window with --human, bad input."""

from __future__ import annotations

import imageio.v2 as imageio
import jax
import numpy as np
import pygame
import pytest
import typer
from typer.testing import CliRunner

from marlax.cli.enjoy import register
from marlax.envs.grid.tiles import Action
from marlax.errors import ConfigError
from marlax.play.session import PlaySession
from tests.play.tiny_runs import SPREAD_MLP, TINY_GRID_GRU, save_run, tiny_grid_registered
from tests.runs.tiny_grid import TinyGrid, cell_centre_pixel

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [
    pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning"),
    pytest.mark.xdist_group("cli.test_enjoy"),
]

RED = np.array([200, 30, 30])
BLUE = np.array([30, 30, 200])
SEED_WITH_AGENT_0_INSIDE = 9  # PlaySession's TinyGrid agent 0 starts at (2, 1)
GRID_RUN = "tiny-gru-01"
SPREAD_RUN = "tiny-mlp-01"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """marlax (test app)."""

    register(app)
    return app


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """Two runs: TinyGrid with a GRU whose policy always moves up, and simple_spread MLP."""
    path = tmp_path_factory.mktemp("runs")
    up = np.zeros(7, np.float32)
    up[Action.UP] = 10.0
    with tiny_grid_registered():
        save_run(path, GRID_RUN, TINY_GRID_GRU, bias=up)
        save_run(path, SPREAD_RUN, SPREAD_MLP)
        yield path


def _enjoy(runs_dir, *args):
    return CliRunner().invoke(_app(), ["enjoy", *args, "--runs-dir", str(runs_dir)])


def _read(path) -> np.ndarray:
    return np.stack([np.asarray(frame)[..., :3] for frame in imageio.mimread(path, memtest=False)])


def _episode_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("episode")]


@pytest.mark.parametrize(("run", "episodes", "length"), [(GRID_RUN, 2, 3), (SPREAD_RUN, 1, 25)])
def test_video_holds_every_frame_of_n_episodes(runs_dir, tmp_path, run, episodes, length):
    path = tmp_path / "enjoy.mp4"
    result = _enjoy(runs_dir, run, "--video-path", str(path), "--episodes", str(episodes))
    assert result.exit_code == 0, result.output
    # the reset frame, then one per step: 1 + sum of the episode lengths
    assert len(_read(path)) == 1 + episodes * length
    lines = _episode_lines(result.output)
    assert len(lines) == episodes and all(f"{length} steps" in line for line in lines)
    assert "unfinished" not in result.output


def test_human_keys_move_agent_0_while_the_policy_moves_the_others(runs_dir, tmp_path):
    env = TinyGrid(max_steps=3)
    start = np.asarray(PlaySession(env, jax.random.key(SEED_WITH_AGENT_0_INSIDE)).state.positions)
    assert start[0].tolist() == [2, 1]
    path = tmp_path / "human.mp4"
    pygame.display.init()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
    result = _enjoy(
        runs_dir,
        GRID_RUN,
        "--human",
        "--pov",
        "--seed",
        str(SEED_WITH_AGENT_0_INSIDE),
        "--fps",
        "1000",
        "--video-path",
        str(path),
    )
    assert result.exit_code == 0, result.output
    frames = _read(path).astype(int)
    assert len(frames) == 1 + 3  # one 3-step episode
    # step 1: agent 0 (red) went right as keyed, agent 1 (blue) up as the policy plays
    agent_1 = [int(start[1][0]), min(int(start[1][1]) + 1, env.height - 1)]
    expected = [(agent_1, BLUE)] + ([([3, 1], RED)] if agent_1 != [3, 1] else [])  # blue on top
    for position, colour in expected:
        row, col = cell_centre_pixel(env, position)
        assert np.abs(frames[1][row - 3 : row + 3, col - 3 : col + 3] - colour).mean() < 25
    lines = _episode_lines(result.output)
    assert len(lines) == 1 and "3 steps" in lines[0]


def test_unknown_run_is_a_one_line_config_error(runs_dir):
    result = _enjoy(runs_dir, "no-such-run")
    assert isinstance(result.exception, ConfigError) and result.exception.field == "run"
    assert "\n" not in str(result.exception) and GRID_RUN in str(result.exception)


def test_bad_selector_lists_the_tasks(runs_dir):
    result = _enjoy(runs_dir, GRID_RUN, "--selector", "scouts")
    assert isinstance(result.exception, ConfigError) and result.exception.field == "selector"
    assert "0=tiny_grid" in str(result.exception)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--episodes", "0"], "episodes"),
        (["--fps", "0"], "fps"),
        (["--video-path", "out.avi"], "video_path"),
        (["--seed-index", "1"], "seed_index"),
    ],
)
def test_bad_options_are_config_errors(runs_dir, args, field):
    result = _enjoy(runs_dir, GRID_RUN, *args)
    assert isinstance(result.exception, ConfigError) and result.exception.field == field
