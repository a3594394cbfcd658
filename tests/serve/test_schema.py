"""Request parsing and settings checks (no Ray): shapes, dtypes, defaults and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.serve.guard import check_declared_size, check_token
from marlax.serve.schema import RequestError, parse_act_request
from marlax.serve.settings import ServeSettings, is_loopback
from marlax.serve.spec import ModelSpec

SPEC = ModelSpec(
    env_name="grid",
    num_agents=2,
    obs_shape=(3,),
    obs_dtype="int32",
    obs_low=0.0,
    obs_high=9.0,
    discrete=True,
    action_size=4,
    members=("a:0",),
    memory_shapes=(((1, 2, 5),),),
)


def _parse(**fields):
    return parse_act_request(json.dumps(fields).encode(), SPEC, max_agents=6)


def test_one_env_gets_a_batch_axis_and_fresh_episodes_by_default():
    request = _parse(observations=[[1, 2, 3], [4, 5, 6]])
    assert request.observations.shape == (1, 2, 3) and request.observations.dtype == np.int32
    assert not request.batched and request.reset.tolist() == [True] and request.memory is None
    assert request.legal_action_mask.shape == (1, 2, 4) and request.legal_action_mask.all()


def test_memory_makes_reset_default_false_and_keeps_its_shape():
    memory = {"a:0": [np.zeros((2, 1, 2, 5)).tolist()]}
    request = _parse(observations=np.ones((2, 2, 3), int).tolist(), memory=memory)
    assert request.batched and request.reset.tolist() == [False, False]
    assert request.memory[0][0].shape == (2, 1, 2, 5)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"observations": [[1.5, 2, 3], [4, 5, 6]]}, "observations"),  # floats for int obs
        ({"observations": [[1, 2, 30], [4, 5, 6]]}, "observations"),  # outside the box
        ({"observations": [[1, 2], [4, 5, 6]]}, "observations"),  # ragged
        ({"observations": np.ones((4, 2, 3), int).tolist()}, "observations"),  # 8 > 6 agents
        (
            {"observations": [[1, 2, 3], [4, 5, 6]], "memory": {"a:0": [[[0] * 4] * 2]}},
            "memory.a:0[0]",
        ),
        (
            {"observations": [[1, 2, 3], [4, 5, 6]], "legal_action_mask": [[False] * 4] * 2},
            "legal_action_mask",
        ),
        ({"observations": [[1, 2, 3], [4, 5, 6]], "members": ["z:0"]}, "members"),
        ({"observations": [[1, 2, 3], [4, 5, 6]], "probabilities": "yes"}, "probabilities"),
        ({}, "observations"),
    ],
)
def test_wrong_fields_are_422_naming_the_field(fields, field):
    with pytest.raises(RequestError) as refused:
        _parse(**fields)
    assert refused.value.status == 422 and refused.value.field == field


def test_token_and_size_guards():
    check_token(None, None)
    check_token("Bearer abc", "abc")
    for header in (None, "Bearer abd", "Basic abc", "abc"):
        with pytest.raises(RequestError) as refused:
            check_token(header, "abc")
        assert refused.value.status == 401
    with pytest.raises(RequestError) as too_big:
        check_declared_size("2000", 1000)
    assert too_big.value.status == 413


def test_settings_refuse_an_open_address_without_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    with pytest.raises(ConfigError) as refused:
        ServeSettings(runs=("a",), host="0.0.0.0")
    assert refused.value.field == "host"
    assert ServeSettings(runs=("a",), host="0.0.0.0", token="t0ken").url == "http://0.0.0.0:8000"
    for fields, field in [
        ({"replicas": 0}, "replicas"),
        ({"rule": "vote"}, "rule"),
        ({"runs": ()}, "runs"),
    ]:
        with pytest.raises(ConfigError) as bad:
            ServeSettings(**{"runs": ("a",), **fields})
        assert bad.value.field == field
