"""Ray for the PBT backend: imported only when asked for, started or joined, shut down after.

ray = import_ray()                         # ConfigError naming the extra when missing
with ray_session(ray, config):             # joins a running Ray or RAY_ADDRESS, else starts one
    ...                                    # member actors; Ray is shut down on the way out
                                           # only if this session started it
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from marlax.config.schema import TrainConfig
from marlax.errors import ConfigError
from marlax.validate import require

RAY_EXTRA = "pip install 'marlax[serve]'"


def import_ray() -> ModuleType:
    """The `ray` module.

    Raises:
        ConfigError: on `pbt.backend` when Ray is not installed (naming the extra).
    """
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "pbt.backend", "ray", f'"in_graph", or install Ray first: {RAY_EXTRA}'
        ) from None
    return ray


def cpus_to_start(config: TrainConfig) -> int:
    """Logical CPUs of a Ray instance the run starts itself: room for every member actor,
    and at least this machine's cores."""
    wanted = math.ceil(config.run.num_seeds * config.pbt.member_cpus)
    return max(os.cpu_count() or 1, wanted, 1)


@contextmanager
def ray_session(ray: ModuleType, config: TrainConfig) -> Iterator[None]:
    """Ray running for the block: joined when already up (in this process, or at `RAY_ADDRESS`),
    else started locally without a dashboard; shut down at the end only if started here.

    Raises:
        ConfigError: on `pbt.member_cpus` when the cluster cannot place every member.
    """
    started = not ray.is_initialized()
    if started:
        if os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False)
        else:
            ray.init(num_cpus=cpus_to_start(config), include_dashboard=False, log_to_driver=False)
    try:
        _require_room(ray, config)
        yield
    finally:
        if started:
            ray.shutdown()


def _require_room(ray: ModuleType, config: TrainConfig) -> None:
    """Every member actor must fit at once (a round waits for all of them)."""
    cpus = float(ray.cluster_resources().get("CPU", 0.0))
    members, each = config.run.num_seeds, config.pbt.member_cpus
    require(
        members * each <= cpus,
        "pbt.member_cpus",
        each,
        f"at most {cpus:g} / {members} members: the Ray cluster has {cpus:g} CPUs "
        f"and every member actor must be placed at once",
    )
