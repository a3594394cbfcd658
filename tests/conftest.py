"""Shared test set-up: strict rank promotion, small fixtures, headless pygame."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

# Many tests compile the same XLA program in different workers and CLI subprocesses (the same
# env step, the same small trainer): a persistent compilation cache shared by all of them cut
# tests/envs from 9:48 to 7:23 on 2 cores with a cold cache. Set through the environment so
# subprocesses inherit it; capped so a developer's local cache cannot grow without bound.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(tempfile.gettempdir(), f"marlax-test-jax-cache-{os.getuid()}"),
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(2 * 1024**3))

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key() -> jax.Array:
    return jax.random.key(0)
