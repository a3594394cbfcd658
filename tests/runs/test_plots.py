"""curves.png: which panels, a valid PNG of the right layout, lines drawn, atomic replace."""

from __future__ import annotations

import io
import math
import struct

import imageio.v2 as imageio
import numpy as np
import pytest

from marlax.runs import atomic
from marlax.runs.plots import curve_panels, plot_curves

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LINE_BLUE = np.array([0x1F, 0x77, 0xB4])  # matplotlib's first line colour, C0


def png_size(content: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk that follows the signature."""
    assert content[:8] == PNG_MAGIC and content[12:16] == b"IHDR"
    return struct.unpack(">II", content[16:24])


def blue_pixels(content: bytes) -> int:
    image = imageio.imread(io.BytesIO(content))[..., :3].astype(int)
    return int((np.abs(image - LINE_BLUE).sum(axis=-1) < 30).sum())


ROWS = [
    {"env_steps": 100, "update": 1, "return": 1.0, "return/a": 0.5, "return/b": 1.5,
     "loss/policy": 0.1, "loss/value": 2.0, "sps": 50.0},
    {"env_steps": 200, "update": 2, "return": 2.0, "return/a": 1.5, "return/b": 2.5,
     "loss/policy": None, "loss/value": 1.0, "loss/entropy": 0.7, "sps": 60.0},
]  # fmt: skip


def test_panels_are_task_returns_then_each_loss():
    assert curve_panels(ROWS) == [
        ("return", ["return/a", "return/b"]),
        ("loss/policy", ["loss/policy"]),
        ("loss/value", ["loss/value"]),
        ("loss/entropy", ["loss/entropy"]),
    ]


def test_mean_return_is_plotted_when_there_are_no_task_returns():
    rows = [{"env_steps": 1, "return": 1.0, "loss/value": 0.5}]
    assert curve_panels(rows) == [("return", ["return"]), ("loss/value", ["loss/value"])]
    assert curve_panels([{"env_steps": 1, "sps": 3.0}]) == []
    assert curve_panels([]) == []


def test_png_has_one_panel_per_curve_group(tmp_path):
    path = tmp_path / "curves.png"
    plot_curves(ROWS, path)
    content = path.read_bytes()
    # 4 panels: 3 columns x 2 rows of 4.5 x 3.2 inches at 100 dpi
    assert png_size(content) == (1350, 640)
    assert blue_pixels(content) > 100  # the lines are drawn
    plot_curves([{"env_steps": 5, "return": 1.0}], path)  # one panel
    assert png_size(path.read_bytes()) == (450, 320)


def test_no_rows_writes_a_no_data_figure(tmp_path):
    path = tmp_path / "curves.png"
    plot_curves([], path)
    content = path.read_bytes()
    assert png_size(content) == (450, 320)
    assert blue_pixels(content) == 0
    image = imageio.imread(io.BytesIO(content))[..., :3]
    assert (image < 100).all(axis=-1).sum() > 50  # the dark "no data yet" text


def test_null_and_missing_values_leave_gaps(tmp_path):
    rows = [
        {"env_steps": 1, "return": 1.0},
        {"env_steps": 2, "return": None},
        {"env_steps": 3},
        {"env_steps": 4, "return": math.inf},
    ]
    plot_curves(rows, tmp_path / "curves.png")
    assert png_size((tmp_path / "curves.png").read_bytes()) == (450, 320)


def test_the_png_is_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "curves.png"
    plot_curves(ROWS, path)
    before = path.read_bytes()

    def _crash(source, destination):
        raise OSError("killed")

    monkeypatch.setattr(atomic.os, "replace", _crash)
    with pytest.raises(OSError, match="killed"):
        plot_curves([], path)
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["curves.png"]
