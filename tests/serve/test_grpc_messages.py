"""gRPC messages <-> the HTTP JSON shapes: a gRPC request parses to the same `ActRequest` as
its JSON twin, answers convert losslessly, and malformed tensors are one-line 422s."""

from __future__ import annotations

import json

import grpc
import numpy as np
import pytest

from marlax.serve.grpc_messages import (
    act_reply,
    array_of,
    bool_tensor_message,
    grpc_code,
    memory_message,
    request_fields,
    tensor_message,
)
from marlax.serve.proto import policy_pb2
from marlax.serve.schema import RequestError, parse_act_fields, parse_act_request
from marlax.serve.spec import ModelSpec

SPEC = ModelSpec(
    env_name="simple_spread",
    num_agents=3,
    obs_shape=(4,),
    obs_dtype="float32",
    obs_low=-np.inf,
    obs_high=np.inf,
    discrete=True,
    action_size=5,
    members=("a:0", "b:0"),
    memory_shapes=((), ((1, 3, 2),)),
)


def _same(left, right) -> None:
    for name in ("observations", "reset", "legal_action_mask"):
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name))
    assert (left.batched, left.member_indices, left.probabilities) == (
        right.batched,
        right.member_indices,
        right.probabilities,
    )
    assert (left.memory is None) == (right.memory is None)
    for mine, theirs in zip(left.memory or (), right.memory or (), strict=True):
        assert (mine is None) == (theirs is None)
        for leaf, other in zip(mine or (), theirs or (), strict=True):
            np.testing.assert_array_equal(leaf, other)


def test_a_grpc_request_parses_like_its_json_twin():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2, 3, 4)).astype(np.float32)
    mask = rng.random((2, 3, 5)) > 0.3
    memory = rng.normal(size=(2, 1, 3, 2))
    message = policy_pb2.ActRequest(
        observations=tensor_message(obs),
        reset=bool_tensor_message([False, True]),
        legal_action_mask=bool_tensor_message(mask),
        probabilities=True,
        members=["a:0", "b:0"],
    )
    message.memory["a:0"].CopyFrom(memory_message(None))
    message.memory["b:0"].CopyFrom(memory_message([memory]))
    twin = {
        "observations": obs.tolist(),
        "reset": [False, True],
        "legal_action_mask": mask.tolist(),
        "probabilities": True,
        "members": ["a:0", "b:0"],
        "memory": {"a:0": None, "b:0": [memory.tolist()]},
    }
    from_grpc = parse_act_fields(request_fields(message), SPEC, max_agents=64)
    _same(from_grpc, parse_act_request(json.dumps(twin).encode(), SPEC, max_agents=64))
    assert from_grpc.batched and from_grpc.reset.tolist() == [False, True]


def test_absent_fields_stay_absent_so_defaults_match_http():
    message = policy_pb2.ActRequest(observations=tensor_message(np.zeros((3, 4))))
    assert request_fields(message) == {
        "probabilities": False,
        "observations": np.zeros((3, 4)).tolist(),
    }
    parsed = parse_act_fields(request_fields(message), SPEC, max_agents=64)
    assert parsed.reset.tolist() == [True] and not parsed.batched and parsed.memory is None


def test_integer_tensors_stay_integers_and_scalars_have_no_shape():
    ints = tensor_message(np.array([[1, 2], [3, 4]], np.int32))
    assert list(ints.int_values) == [1, 2, 3, 4] and not ints.values
    assert array_of(ints).dtype == np.int64 and array_of(ints).tolist() == [[1, 2], [3, 4]]
    assert request_fields(policy_pb2.ActRequest(reset=bool_tensor_message(True)))["reset"] is True


@pytest.mark.parametrize(
    ("tensor", "reason"),
    [
        (policy_pb2.Tensor(shape=[3, 5], values=[0.0] * 12), "shape whose product"),
        (policy_pb2.Tensor(shape=[2], values=[1.0], int_values=[1]), "not both"),
        (policy_pb2.Tensor(shape=[-1, 2], values=[0.0] * 2), "shape whose product"),
    ],
)
def test_malformed_tensors_are_one_line_422s(tensor, reason):
    with pytest.raises(RequestError) as refused:
        request_fields(policy_pb2.ActRequest(observations=tensor))
    assert refused.value.status == 422 and refused.value.field == "observations"
    assert reason in refused.value.reason


def test_an_answer_converts_losslessly():
    answer = {
        "actions": [[1, 4, 0]],
        "probabilities": np.full((1, 3, 5), 0.2).tolist(),
        "memory": {"a:0": None, "b:0": [np.arange(6.0).reshape(1, 3, 2).tolist()]},
        "members_used": ["a:0", "b:0"],
        "members_down": [],
        "rule": "soft_vote",
    }
    reply = act_reply(answer, discrete=True)
    assert array_of(reply.actions).tolist() == [[1, 4, 0]] and list(reply.actions.int_values)
    np.testing.assert_array_equal(array_of(reply.probabilities), np.full((1, 3, 5), 0.2))
    assert reply.memory["a:0"].initial
    assert array_of(reply.memory["b:0"].leaves[0]).tolist() == answer["memory"]["b:0"][0]
    assert (list(reply.members_used), reply.rule) == (["a:0", "b:0"], "soft_vote")
    without = {key: value for key, value in answer.items() if key != "probabilities"}
    assert not act_reply(without, discrete=True).HasField("probabilities")


def test_http_statuses_map_to_grpc_codes():
    codes = [grpc_code(status) for status in (400, 401, 413, 422, 503, 500, 418)]
    assert codes == [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.INTERNAL,
    ]
