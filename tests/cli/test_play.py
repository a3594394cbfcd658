"""`marlax play`: --random videos and returns, the pygame window driven by posted keys, --set."""

from __future__ import annotations

import os
import sys

import imageio.v2 as imageio
import jax
import numpy as np
import pygame
import pytest
from typer.testing import CliRunner

from marlax.cli.app import app
from marlax.envs import list_envs, make, registry
from marlax.errors import ConfigError
from marlax.play.keymap import GRID_KEYMAP, KEYMAPS, keymap_for
from marlax.play.record import episode_returns, jitted_rollout, record_episode
from marlax.play.settings import parse_settings
from tests.cli_process import assert_refused, run_marlax
from tests.runs.tiny_grid import CELL_PX, TinyGrid, cell_centre_pixel

pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")

RED = np.array([200, 30, 30])
BLUE = np.array([30, 30, 200])
SEED_WITH_AGENT_0_INSIDE = 9  # TinyGrid's agent 0 starts at (2, 1): every move stays on the map


@pytest.fixture
def tiny_registered(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "tiny_grid", "tests.runs.tiny_grid:TinyGrid")


def _read(path) -> np.ndarray:
    return np.stack([np.asarray(frame)[..., :3] for frame in imageio.mimread(path, memtest=False)])


def test_random_video_of_grid_return_has_every_frame(tmp_path):
    env = make("grid_return")
    path = tmp_path / "demo.mp4"
    result = CliRunner().invoke(
        app, ["play", "grid_return", "--random", "--video-path", str(path), "--steps", "20"]
    )
    assert result.exit_code == 0, result.output
    frames = _read(path)
    height, width, _ = jax.eval_shape(
        env.render, jax.eval_shape(env.reset, jax.random.key(0))[1]
    ).shape
    assert frames.shape == (21, height, width, 3)
    # the same seed's frames, rendered directly (lossy codec: compare on average)
    expected = record_episode(env, jax.random.key(0), 20)
    assert np.abs(frames.astype(int) - expected).mean() < 4.0


def test_random_without_video_prints_episode_returns(tiny_registered):
    result = CliRunner().invoke(
        app, ["play", "tiny_grid", "--random", "--steps", "7", "--set", "max_steps=3"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("episode")]
    trajectory = jitted_rollout(jax.random.key(0), env=TinyGrid(max_steps=3), num_steps=7)
    episodes = episode_returns(np.asarray(trajectory.reward), np.asarray(trajectory.done))
    assert [episode.length for episode in episodes] == [3, 3, 1]
    assert len(lines) == 3 and "unfinished" in lines[2] and "unfinished" not in lines[0]
    for line, episode in zip(lines, episodes, strict=True):
        assert f"{episode.length} steps" in line
        assert f"mean return {episode.returns.mean():.3f}" in line


def test_rollout_keeps_each_episode_end_then_starts_fresh():
    trajectory = jitted_rollout(jax.random.key(0), env=TinyGrid(max_steps=3), num_steps=7)
    np.testing.assert_array_equal(np.asarray(trajectory.done), [0, 0, 1, 0, 0, 1, 0])
    # states: the start, then what each step reached; an episode's last state (step 3) is
    # kept before the next episode starts again from step 0 -> 1
    np.testing.assert_array_equal(np.asarray(trajectory.states.step), [0, 1, 2, 3, 1, 2, 3, 1])


@pytest.mark.parametrize(
    ("key_code", "delta"),
    [
        ("K_UP", (0, 1)),
        ("K_RIGHT", (1, 0)),
        ("K_DOWN", (0, -1)),
        ("K_LEFT", (-1, 0)),
        (None, (0, 0)),
    ],
)
def test_window_keys_move_agent_0(key_code, delta):
    from marlax.play.session import PlaySession
    from marlax.play.window import run_window

    env = TinyGrid()
    key = jax.random.key(SEED_WITH_AGENT_0_INSIDE)
    start = np.asarray(PlaySession(env, key).state.positions[0])
    assert start.tolist() == [2, 1]
    pygame.display.init()
    if key_code is not None:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=getattr(pygame, key_code)))
    session, frames = run_window(env, key, GRID_KEYMAP, fps=1000, num_steps=1)
    moved = np.asarray(session.state.positions[0])
    assert moved.tolist() == (start + np.array(delta)).tolist()
    assert len(frames) == 2
    row, col = cell_centre_pixel(env, moved)
    shared = np.array_equal(np.asarray(session.state.positions[1]), moved)  # agent 1 drawn on top
    assert frames[1][row, col].tolist() == (BLUE if shared else RED).tolist()
    # the egocentric view of agent 0 sits beside the map: 3x3 cells, self at the centre
    assert session.pov_view is not None and session.pov_view.shape[0] == session.pov_view.shape[1]


def test_window_right_arrow_moves_grid_return_agent_0():
    from marlax.envs.grid.tiles import Tile
    from marlax.play.session import PlaySession
    from marlax.play.window import run_window

    env = make("grid_return", width=8, height=8, num_agents=2, wall_density=0.0)
    for seed in range(50):  # a start whose right-hand cell is open floor (no wall, no treasure)
        key = jax.random.key(seed)
        start_state = PlaySession(env, key).state
        start = np.asarray(start_state.positions[0])
        if int(start_state.terrain[start[0] + 1, start[1]]) == Tile.EMPTY:
            break
    pygame.display.init()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
    session, _ = run_window(env, key, keymap_for("grid_return", env), fps=1000, num_steps=1)
    assert np.asarray(session.state.positions[0]).tolist() == [start[0] + 1, start[1]]


def test_window_command_records_what_was_played(tiny_registered, tmp_path):
    path = tmp_path / "played.mp4"
    pygame.display.init()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
    result = CliRunner().invoke(
        app,
        [
            "play",
            "tiny_grid",
            "--steps",
            "1",
            "--seed",
            str(SEED_WITH_AGENT_0_INSIDE),
            "--fps",
            "50",
            "--video-path",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    frames = _read(path).astype(int)
    assert frames.shape == (2, 3 * CELL_PX, 4 * CELL_PX, 3)
    env = TinyGrid()
    for frame, position in zip(frames, ([2, 1], [3, 1]), strict=True):
        row, col = cell_centre_pixel(env, position)
        # agent 0 (red) is at (2, 1), then one cell right
        assert np.abs(frame[row - 3 : row + 3, col - 3 : col + 3] - RED).mean() < 25


def test_bad_set_key_exits_2_with_one_line():
    # a narrow terminal must not wrap the error over several lines
    narrow = {**os.environ, "COLUMNS": "40"}
    assert_refused(run_marlax("play", "grid_return", "--set", "bogus=1", env=narrow), "bogus")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--pov", "5"], "pov"),
        (["--steps", "0"], "steps"),
        (["--random", "--video-path", "out.avi"], "video_path"),
        (["--set", "max_steps"], "--set"),
        (["--set", "max_steps=-3"], "max_steps"),
    ],
)
def test_bad_options_are_config_errors(tiny_registered, args, field):
    result = CliRunner().invoke(app, ["play", "tiny_grid", *args])
    assert isinstance(result.exception, ConfigError) and result.exception.field == field


def test_parse_settings_reads_json_values():
    assert parse_settings(["width=30", "continuous_actions=true", "mode=fast", "sizes=[1, 2]"]) == {
        "width": 30,
        "continuous_actions": True,
        "mode": "fast",
        "sizes": [1, 2],
    }
    assert parse_settings(["rate=0.5", "rate=2"]) == {"rate": 2}
    with pytest.raises(ConfigError):
        parse_settings(["=3"])


def test_unlisted_grid_env_gets_the_grid_keys():
    assert keymap_for("tiny_grid", TinyGrid()) == GRID_KEYMAP


def test_keymaps_pick_the_last_bound_key():
    assert GRID_KEYMAP.action_for([]) == 4
    assert GRID_KEYMAP.action_for(["up"]) == 0
    assert GRID_KEYMAP.action_for(["up", "right", "x"]) == 1
    assert GRID_KEYMAP.action_for(["space"]) == 5 and GRID_KEYMAP.action_for(["d"]) == 6
    assert KEYMAPS["nback"].action_for(["m"]) == 1 and KEYMAPS["nback"].action_for([]) == 0
    assert KEYMAPS["simple_spread"].action_for(["left"]) == 1  # mpe2: 1 = -x
    assert KEYMAPS["energy_flow"].action_for(["up"]) == 3


@pytest.mark.parametrize("name", list_envs())
def test_every_env_keymap_uses_its_actions(name):
    env = make(name)
    keymap = keymap_for(name, env)
    count = env.action_space.n if hasattr(env.action_space, "n") else env.action_space.shape[-1]
    assert keymap.bindings and 0 <= keymap.default < count
    assert all(0 <= action < count for _, action in keymap.bindings)


def test_missing_pygame_is_a_config_error(monkeypatch):
    from marlax.play.window import import_pygame

    monkeypatch.setitem(sys.modules, "pygame", None)
    with pytest.raises(ConfigError, match=r"\[play\]"):
        import_pygame()
