"""Shared test set-up: strict rank promotion, small fixtures, headless pygame."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

# Many tests compile the same XLA program in different workers and CLI subprocesses (the same
# env step, the same small trainer). With JAX_COMPILATION_CACHE_DIR set (`.ci/run` sets a fresh
# one) they share a persistent compilation cache: tests/envs took 7:23 instead of 9:48 on 2
# cores with a cold cache. Cache everything, however fast it compiled. Do not set
# JAX_COMPILATION_CACHE_MAX_SIZE: with a size cap JAX's cache takes a file lock and scans the
# whole directory on every write, which made the full suite slower, not faster.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key() -> jax.Array:
    return jax.random.key(0)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` keeps each module marked with `xdist_group` on one worker, also on
    pytest >= 9.2 (see tests/xdist_groups.py); other modes are xdist's own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from tests.xdist_groups import ModuleGroupScheduling

    return ModuleGroupScheduling(config, log)
