"""The registry of reproducible tables, in the order a reproduction runs them (cheapest
first: the timings run while nothing else has loaded the process), and the tables that it
does not re-run, with the reason."""

from __future__ import annotations

from collections.abc import Sequence

from marlax.reproduce import coordination, learning, throughput, value_based
from marlax.reproduce.table import Table
from marlax.validate import require_choice

TABLES: tuple[Table, ...] = (
    coordination.TABLE,
    throughput.TABLE,
    learning.TABLE,
    value_based.TABLE,
)

NOT_REPRODUCED: dict[str, str] = {
    "simple_spread learning vs JaxMARL's IPPO (same hyperparameters, 3 seeds)": (
        "skipped: needs --jaxmarl-src (JaxMARL is the peer); run "
        "benchmarks/learning_simple_spread.py by hand"
    ),
    "Training throughput vs JaxMARL's IPPO (simple_spread, feed-forward)": (
        "skipped: needs --jaxmarl-src (JaxMARL is the peer); run "
        "benchmarks/train_throughput.py by hand"
    ),
    "marlax's QMIX / VDN against JaxMARL's original ones (benchmarks/q_learning_peer.py)": (
        "skipped: needs --jaxmarl-src (a JaxMARL source checkout); run "
        "benchmarks/q_learning_peer.py --jaxmarl-src PATH by hand"
    ),
}
"""Tables of BENCHMARKS.md that compare with a peer library: heading -> why not here."""


def select_tables(names: Sequence[str]) -> tuple[Table, ...]:
    """The named tables in run order (all of them when `names` is empty).

    Raises:
        ConfigError: an unknown name; the message lists the valid ones.
    """
    for name in names:
        require_choice("table", name, [table.name for table in TABLES])
    return tuple(table for table in TABLES if not names or table.name in names)
