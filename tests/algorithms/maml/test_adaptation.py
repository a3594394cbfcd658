"""The adaptation curve's program is compiled once: a second call with the same inner loop and
shapes does not trace again and gives what the first gave. (That the curve equals the training
adaptation's returns is `test_trainer.test_adaptation_curve_is_the_training_adaptation`.)"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from marlax.algorithms.maml import adaptation
from marlax.algorithms.maml.meta import collect
from tests.algorithms.maml.helpers import linear_inner, linear_params


def test_a_second_call_reuses_the_compiled_curve(monkeypatch):
    traces = []

    def _counting_collect(*args, **kwargs):
        traces.append(1)  # runs only while `_adaptation_curve` is traced
        return collect(*args, **kwargs)

    monkeypatch.setattr(adaptation, "collect", _counting_collect)
    # an inner step size no other test uses, so the first call must compile
    inner = dataclasses.replace(linear_inner(), inner_lr=0.123)
    params = linear_params(jax.random.key(0))
    task = inner.sampler.env.sample_task(jax.random.key(1))

    first = adaptation.adaptation_returns(jax.random.key(2), params, inner, task, 1)
    assert len(traces) == 1
    second = adaptation.adaptation_returns(jax.random.key(2), params, inner, task, 1)
    other_key = adaptation.adaptation_returns(jax.random.key(3), params, inner, task, 1)
    other_params = adaptation.adaptation_returns(
        jax.random.key(2), linear_params(jax.random.key(4)), inner, task, 1
    )
    assert len(traces) == 1

    assert first.shape == (2,)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other_key)
    assert not np.array_equal(first, other_params)
