"""write_video (mp4/gif, atomic, checked input) and the scanned, vmap-rendered rollouts."""

from __future__ import annotations

import imageio.v2 as imageio
import jax
import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.play.record import episode_returns, jitted_rollout, record_episode, render_frames
from marlax.runs.video import write_video
from tests.runs.tiny_grid import TinyGrid, cell_centre_pixel

# reading mp4 runs ffmpeg in a subprocess (fork + exec), which JAX warns about
pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")


def _frames(count: int = 6, height: int = 48, width: int = 64) -> np.ndarray:
    """Frames with a bright block that moves and a background that darkens: u8[T, H, W, 3]."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    for index in range(count):
        frames[index, ...] = (200 - 30 * index, 120, 40 + 30 * index)
        left = 8 * index
        frames[index, 16:32, left : left + 16] = (250, 250, 250)
    return frames


def _read(path) -> np.ndarray:
    return np.stack([np.asarray(frame)[..., :3] for frame in imageio.mimread(path, memtest=False)])


def test_mp4_reads_back_with_frame_count_size_and_colours(tmp_path):
    frames = _frames()
    path = write_video(frames, tmp_path / "clip.mp4", fps=5)
    back = _read(path)
    assert back.shape == frames.shape and back.dtype == np.uint8
    # lossy codec: per-frame colour means agree, and pixels on average
    np.testing.assert_allclose(back.mean(axis=(1, 2)), frames.mean(axis=(1, 2)), atol=3.0)
    assert np.abs(back.astype(int) - frames).mean() < 4.0
    # the moving block is where it was drawn
    assert back[-1, 20:28, 44:52].min() > 200 and back[0, 20:28, 44:52].max() < 220
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_gif_is_exact_and_chunks_equal_one_array(tmp_path):
    frames = _frames(4)
    chunks = (frames[start : start + 3] for start in range(0, 4, 3))  # u8[C, H, W, 3] chunks
    write_video(chunks, tmp_path / "clip.gif", fps=4)
    np.testing.assert_array_equal(_read(tmp_path / "clip.gif"), frames)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (np.zeros((2, 16, 16, 3), np.float32), "u8"),
        (np.zeros((2, 16, 16, 4), np.uint8), "u8"),
        (np.zeros((16, 16, 3), np.uint8), "T, H, W, 3"),
        ([np.zeros((16, 16, 3), np.uint8), np.zeros((32, 16, 3), np.uint8)], "every frame"),
        ([], "at least one"),
    ],
)
def test_bad_frames_are_config_errors_and_leave_nothing(tmp_path, frames, match):
    with pytest.raises(ConfigError, match=match):
        write_video(frames, tmp_path / "bad.mp4")
    assert list(tmp_path.iterdir()) == []


def test_bad_extension_and_fps_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="video_path"):
        write_video(_frames(2), tmp_path / "clip.avi")
    with pytest.raises(ConfigError, match="fps"):
        write_video(_frames(2), tmp_path / "clip.mp4", fps=0)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(_frames(3), path)
    before = path.read_bytes()

    def _breaks_midway():
        yield from _frames(3)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        write_video(_breaks_midway(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_rollout_resets_after_each_episode(key):
    env = TinyGrid(max_steps=3)
    trajectory = jitted_rollout(key, env=env, num_steps=7)
    # the reset state, then post-step states; an ended episode's last state is kept
    assert np.asarray(trajectory.states.step).tolist() == [0, 1, 2, 3, 1, 2, 3, 1]
    assert np.asarray(trajectory.done).tolist() == [False, False, True, False, False, True, False]
    # TinyGrid pays 1 on the right column (x = 3) after each step
    on_right = np.asarray(trajectory.states.positions[1:, :, 0] == 3, np.float32)
    np.testing.assert_array_equal(np.asarray(trajectory.reward), on_right)
    # agents move at most one cell per step within an episode
    moves = np.abs(np.diff(np.asarray(trajectory.states.positions), axis=0)).sum(-1)
    within_episode = ~np.concatenate([[False], np.asarray(trajectory.done)[:-1]])
    assert (moves[within_episode] <= 1).all()


def test_record_episode_frames_are_the_rendered_states(key):
    env = TinyGrid(max_steps=3)
    frames = record_episode(env, key, 7)
    assert frames.shape == (8, 48, 64, 3) and frames.dtype == np.uint8
    trajectory = jitted_rollout(key, env=env, num_steps=7)
    expected = np.asarray(jax.vmap(env.render)(trajectory.states))
    np.testing.assert_array_equal(frames, expected)
    chunked = np.concatenate(list(render_frames(env, trajectory.states, chunk_size=3)))
    np.testing.assert_array_equal(chunked, expected)
    # agent 0 is drawn red at its cell
    row, col = cell_centre_pixel(env, np.asarray(trajectory.states.positions[5, 0]))
    assert frames[5, row, col].tolist() in ([200, 30, 30], [30, 30, 200])


def test_episode_returns_split_at_done():
    reward = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], np.float32)
    done = np.array([False, True, False])
    finished, tail = episode_returns(reward, done)
    assert finished.length == 2 and finished.finished and finished.returns.tolist() == [1, 1]
    assert tail.length == 1 and not tail.finished and tail.returns.tolist() == [2, 2]
    assert episode_returns(reward[:2], done[:2])[-1].finished
