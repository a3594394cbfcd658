"""What one `marlax reproduce` invocation asks for, checked eagerly (ConfigError)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from marlax.validate import require, require_number, require_positive_int

DEFAULT_OUT = Path("reproduction")
"""Where tables, figures and finished cells go unless `--out` says otherwise."""


@dataclass(frozen=True)
class ReproduceSettings:
    """The options of a reproduction.

    Attributes:
        out: the output folder (tables, figures, `cells/` with each finished cell, `runs/`).
        configs_dir: the folder of shipped configs (the repository's `configs/`).
        budget_scale: x the recorded env steps of every learning cell (1 = as recorded).
        seeds: seeds per learning cell (None: as recorded for each table).
        quick: run only each table's tiny smoke-test cell.
    """

    out: Path
    configs_dir: Path
    budget_scale: float = 1.0
    seeds: int | None = None
    quick: bool = False

    def __post_init__(self) -> None:
        require_number("budget_scale", self.budget_scale, 0.0, 1000.0, open_low=True)
        if self.seeds is not None:
            require_positive_int("seeds", self.seeds)
        require(
            self.configs_dir.is_dir(),
            "configs",
            str(self.configs_dir),
            "a folder holding the shipped configs (the repository's configs/; pass --configs)",
        )


def default_configs_dir() -> Path:
    """`./configs` when it exists, else the `configs/` of the checkout marlax runs from."""
    here = Path("configs")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "configs"
