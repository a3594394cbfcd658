"""`marlax reproduce`: re-run BENCHMARKS.md's tables from the shipped configs and compare.

    settings = ReproduceSettings(out=Path("reproduction"), configs_dir=Path("configs"))
    reproduction = reproduce(settings, select_tables(["learning"]), Console())
    difference_lines(reproduction)      # what differs from the recorded numbers

`tables` is the registry (`table` the parts of one table; `learning`, `value_based`,
`throughput` and `coordination` the tables themselves, each running the library code paths
of `marlax train`, `marlax eval`, `marlax bench` and the benchmark scripts), `runner` the
order, progress, resume and outputs, `compare` the tolerance bands, `recorded.json` the
numbers BENCHMARKS.md records.
"""

from marlax.reproduce.runner import Reproduction, difference_lines, load_recorded, reproduce
from marlax.reproduce.settings import DEFAULT_OUT, ReproduceSettings, default_configs_dir
from marlax.reproduce.tables import NOT_REPRODUCED, TABLES, select_tables

__all__ = [
    "DEFAULT_OUT",
    "NOT_REPRODUCED",
    "TABLES",
    "ReproduceSettings",
    "Reproduction",
    "default_configs_dir",
    "difference_lines",
    "load_recorded",
    "reproduce",
    "select_tables",
]
