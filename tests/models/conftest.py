"""Model-test set-up: full f32 matmuls, so step == sequence holds to 2e-5 on GPUs too."""

from __future__ import annotations

from collections.abc import Iterator

import jax
import pytest


@pytest.fixture(autouse=True)
def _full_precision_matmuls() -> Iterator[None]:
    # GPUs may run f32 dots in TF32 by default (~1e-3 error); CPU is unaffected
    with jax.default_matmul_precision("highest"):
        yield
