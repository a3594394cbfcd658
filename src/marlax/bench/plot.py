"""Log-log plot of the pipeline scaling measurement (`marlax bench`, benchmarks/coordination.py)."""

from __future__ import annotations

from pathlib import Path

from marlax.bench.scaling import ScalingRow


def plot_scaling(rows: list[ScalingRow], path: Path) -> None:
    """Write latency and XLA temp memory against N, each with a slope-1 guide, to `path`.

    Args:
      rows: one ScalingRow per team size, in increasing N.
      path: image file to write (the format follows the suffix, e.g. .png).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row.num_agents for row in rows]
    mib = 2**20
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4))
    time_axis.loglog(sizes, [row.forward_s * 1e3 for row in rows], "o-", label="forward")
    time_axis.loglog(sizes, [row.gradient_s * 1e3 for row in rows], "s-", label="gradient")
    memory_axis.loglog(sizes, [row.forward_temp_bytes / mib for row in rows], "o-", label="forward")
    memory_axis.loglog(
        sizes, [row.gradient_temp_bytes / mib for row in rows], "s-", label="gradient"
    )
    for axis, first in (
        (time_axis, rows[0].gradient_s * 1e3),
        (memory_axis, rows[0].gradient_temp_bytes / mib),
    ):
        # a line through the first gradient point with slope 1: linear growth in N
        axis.loglog(sizes, [first * n / sizes[0] for n in sizes], "k--", lw=0.8, label="linear")
        axis.set_xlabel("agents N")
        axis.legend()
    time_axis.set_ylabel("latency (ms)")
    memory_axis.set_ylabel("XLA temp memory (MiB)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
