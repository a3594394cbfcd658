"""Write frames to a video file (mp4 via imageio-ffmpeg, or gif), atomically.

    write_video(frames, "runs/bold-otter-07/videos/episode.mp4", fps=10)

The file appears complete or not at all (`marlax.runs.atomic.atomic_path`): frames go to a
temporary file in the same folder, moved into place once the writer has closed.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from marlax.errors import ConfigError
from marlax.runs.atomic import atomic_path
from marlax.validate import require_positive

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".gif")


def check_playback(fps: float, video_path: str | os.PathLike[str] | None) -> None:
    """ConfigError unless `fps` > 0 and `video_path` (if given) names a format we write."""
    require_positive("fps", fps)
    if video_path is not None:
        check_video_path(video_path)


def check_video_path(path: str | os.PathLike[str]) -> Path:
    """The path as a `Path`, after checking its extension names a format we write.

    Raises:
        ConfigError: the extension is not one of `VIDEO_EXTENSIONS`.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise ConfigError(
            "video_path", str(path), f"a file name ending in {' or '.join(VIDEO_EXTENSIONS)}"
        )
    return path


def write_video(
    frames: np.ndarray | Iterable[np.ndarray], path: str | os.PathLike[str], fps: float = 10.0
) -> Path:
    """Write RGB frames to `path` (.mp4 or .gif), atomically.

    Args:
        frames: u8[T, H, W, 3], or an iterable of u8[H, W, 3] frames (or of u8[C, H, W, 3]
            chunks), consumed once, so frames can be rendered while the file is written.
        path: destination; the extension picks the format. Missing folders are created.
        fps: frames per second, > 0.

    Returns:
        The written path.

    Raises:
        ConfigError: unknown extension, fps <= 0, no frames, or a frame that is not
            u8[H, W, 3] or does not match the first frame's size. Nothing is left on disk.
    """
    path = check_video_path(path)
    require_positive("fps", fps)
    imageio = _import_imageio()
    with atomic_path(path) as temporary, warnings.catch_warnings():
        # ffmpeg runs as a subprocess (fork + exec at once), which JAX's fork warning
        # cannot tell from a bare fork
        warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
        with _open_writer(imageio, str(temporary), path.suffix.lower(), fps) as writer:
            count = _append_frames(writer, frames)
        if count == 0:
            raise ConfigError("frames", "no frames", "at least one u8[H, W, 3] frame")
    return path


def _append_frames(writer: Any, frames: np.ndarray | Iterable[np.ndarray]) -> int:
    """Feed every frame to `writer`, checking each; returns the number of frames written."""
    first_shape: tuple[int, ...] | None = None
    count = 0
    for item in _iterate_frames(frames):
        frame = np.asarray(item)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ConfigError(
                "frames", f"{frame.dtype}{list(frame.shape)}", "u8[H, W, 3] RGB frames"
            )
        if first_shape is None:
            first_shape = frame.shape
        elif frame.shape != first_shape:
            raise ConfigError(
                "frames", f"a frame of shape {frame.shape}", f"every frame {first_shape}"
            )
        writer.append_data(frame)
        count += 1
    return count


def _iterate_frames(frames: np.ndarray | Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    """Single frames from an array u8[T, H, W, 3] or an iterable of frames or chunks."""
    if hasattr(frames, "ndim") and frames.ndim != 3:
        frames = [frames]  # one u8[T, H, W, 3] block (or a bad shape, reported per frame)
    elif hasattr(frames, "ndim"):
        raise ConfigError("frames", f"{frames.dtype}{list(frames.shape)}", "u8[T, H, W, 3]")
    for item in frames:
        if getattr(item, "ndim", None) == 4:
            yield from item  # a chunk u8[C, H, W, 3]
        else:
            yield item


@contextlib.contextmanager
def _open_writer(imageio: Any, filename: str, suffix: str, fps: float) -> Any:
    """An imageio writer for `filename` in the format of `suffix`."""
    if suffix == ".mp4":
        writer = imageio.get_writer(
            filename,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            quality=8,
            macro_block_size=16,
            ffmpeg_log_level="error",
        )
    else:
        # pillow's gif writer takes the frame duration in milliseconds; loop forever
        writer = imageio.get_writer(filename, format="GIF", mode="I", duration=1000.0 / fps, loop=0)
    try:
        yield writer
    finally:
        writer.close()


def _import_imageio() -> Any:
    """imageio's v2 API, or a ConfigError that names the extra to install."""
    try:
        import imageio.v2 as imageio
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "video_path", "imageio", "the [video] extra: pip install 'marlax[video]'"
        ) from error
    return imageio
