"""`marlax.serve` on a real Ray Serve instance (one per module): answers equal the local
policies, recurrent memory round-trips, and refusals are 4xx with a one-line reason; the
gRPC face of the same server answers what HTTP answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("ray")

from marlax.algorithms.trained import load_run_policy  # noqa: E402
from marlax.evaluation.ensemble import EnsembleRequest, load_ensemble  # noqa: E402
from marlax.serve.app import start_serving, stop_serving  # noqa: E402
from marlax.serve.client import ServeClient, ServeError  # noqa: E402
from marlax.serve.settings import ServeSettings  # noqa: E402
from tests.serve.runs import (  # noqa: E402
    free_port,
    local_actions,
    observation_stream,
    save_serving_runs,
)

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning"),
    pytest.mark.xdist_group("serve.test_serving"),
]

TOKEN = "serve-test-token"
MAX_BYTES = 4096


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(server, runs_dir, member names): spread-mlp and spread-gru behind one controller."""
    import ray

    runs_dir = tmp_path_factory.mktemp("runs")
    runs = save_serving_runs(runs_dir)
    settings = ServeSettings(
        runs=runs,
        runs_dir=runs_dir,
        port=free_port(),
        grpc_port=free_port(),
        token=TOKEN,
        max_request_bytes=MAX_BYTES,
        max_agents=12,
    )
    init = {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False}
    server = start_serving(settings, ray_init=init)
    try:
        yield server, runs_dir, runs
    finally:
        stop_serving()
    assert not ray.is_initialized()


@pytest.fixture
def client(served):
    server, _, _ = served
    client = ServeClient(server.url, token=TOKEN, retries=0)
    yield client
    client.close()


def test_info_describes_the_env_and_members(client):
    info = client.info()
    assert info["env"] == "simple_spread" and info["num_agents"] == 3
    assert info["observation"]["shape"] == [18] and info["action"] == {"discrete": True, "size": 5}
    assert info["members"] == ["spread-mlp:0", "spread-gru:0"]
    assert info["memory_shapes"]["spread-gru:0"] == [[1, 3, 8]]


@pytest.mark.parametrize("member", ["spread-mlp", "spread-gru"])
def test_one_member_answers_the_local_policy_actions_step_by_step(served, client, member):
    _, runs_dir, _ = served
    local = load_run_policy(runs_dir, member)
    observations = observation_stream(6, seed=1)
    expected = local_actions(local.policy, local.env, observations)
    memory = None
    for obs, local_action in zip(observations, expected, strict=True):
        answer = client.act(obs, memory=memory, members=[f"{member}:0"])
        memory = answer["memory"]
        assert answer["actions"] == local_action.tolist()
        assert answer["members_used"] == [f"{member}:0"] and answer["members_down"] == []
    assert len(set(map(str, expected))) > 1  # the stream really moves the actions


def test_ensemble_answers_the_local_soft_vote_with_recurrent_memory(served, client):
    _, runs_dir, runs = served
    ensemble = load_ensemble(runs_dir, list(runs), EnsembleRequest(rule="soft_vote"))
    observations = observation_stream(5, seed=2)
    expected = local_actions(ensemble.policy, ensemble.env, observations)
    memory = None
    for obs, local_action in zip(observations, expected, strict=True):
        answer = client.act(obs, memory=memory, probabilities=True)
        memory = answer["memory"]
        assert answer["actions"] == local_action.tolist()
        probabilities = np.asarray(answer["probabilities"])
        assert probabilities.shape == (3, 5)
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
        assert answer["actions"] == probabilities.argmax(-1).tolist()
    assert answer["members_used"] == ["spread-mlp:0", "spread-gru:0"]


def test_a_batch_of_envs_equals_the_envs_asked_one_by_one(client):
    observations = observation_stream(3, seed=3)
    batched = client.act(observations)
    single = [client.act(obs)["actions"] for obs in observations]
    assert batched["actions"] == single
    assert np.shape(batched["memory"]["spread-gru:0"][0]) == (3, 1, 3, 8)


def test_a_legal_action_mask_is_obeyed(client):
    mask = np.zeros((3, 5), bool)
    mask[:, 4] = True
    mask[0, 1] = True
    answer = client.act(observation_stream(1)[0], legal_action_mask=mask, probabilities=True)
    assert answer["actions"][1:] == [4, 4] and answer["actions"][0] in (1, 4)
    probabilities = np.asarray(answer["probabilities"])
    np.testing.assert_allclose(probabilities[~mask], 0.0, atol=1e-6)


def test_a_request_without_the_token_is_refused_401(served):
    server, _, _ = served
    for token in (None, "wrong-token"):
        with pytest.raises(ServeError) as refused:
            ServeClient(server.url, token=token, retries=0).act(observation_stream(1)[0])
        assert refused.value.status == 401 and "authorization" in refused.value.reason


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b'{"observations": [[1.0, 2.0]]}', 422, "observations"),
        (b'{"observations": "abc"}', 422, "observations"),
        (b'{"observations": [[true]]}', 422, "observations"),
        (b'{"observation": []}', 422, "observation"),
        (json.dumps({"observations": np.zeros((5, 3, 18)).tolist()}).encode(), 422, "observations"),
        (
            json.dumps({"observations": np.zeros((3, 18)).tolist(), "reset": 1}).encode(),
            422,
            "reset",
        ),
        (
            json.dumps({"observations": np.zeros((3, 18)).tolist(), "memory": {"x": []}}).encode(),
            422,
            "memory",
        ),
        (b'{"observations": [[NaN]]}', 400, "body"),
    ],
)
def test_malformed_requests_get_a_4xx_with_a_one_line_reason(client, body, status, field):
    with pytest.raises(ServeError) as refused:
        client.request("POST", "/v1/act", body)
    assert refused.value.status == status
    assert refused.value.reason.startswith(f"{field}: ")
    assert "\n" not in refused.value.reason and "Traceback" not in refused.value.reason


def test_an_oversized_request_is_refused_413(client):
    body = json.dumps({"observations": np.zeros((3, 18)).tolist(), "pad": "x" * MAX_BYTES})
    with pytest.raises(ServeError) as refused:
        client.request("POST", "/v1/act", body.encode())
    assert refused.value.status == 413


def test_unknown_routes_and_methods_are_refused(client):
    with pytest.raises(ServeError) as missing:
        client.request("GET", "/v2/nothing")
    with pytest.raises(ServeError) as wrong_method:
        client.request("GET", "/v1/act")
    assert (missing.value.status, wrong_method.value.status) == (404, 405)


# ---- gRPC (the same server's `marlax.serve.v1.Policy`) ------------------------------------------


@pytest.fixture
def grpc_client(served):
    from marlax.serve.grpc_client import GrpcServeClient

    server, _, _ = served
    client = GrpcServeClient(f"127.0.0.1:{server.settings.grpc_port}", token=TOKEN, retries=0)
    yield client
    client.close()


def test_grpc_info_equals_the_http_info(client, grpc_client):
    info, reply = client.info(), grpc_client.info()
    assert (reply.env, reply.num_agents, reply.rule) == (info["env"], 3, info["rule"])
    assert list(reply.observation_shape) == info["observation"]["shape"]
    assert (reply.discrete, reply.action_size) == (True, 5)
    assert list(reply.members) == info["members"]
    shapes = {name: [list(s.dims) for s in v.leaves] for name, v in reply.memory_shapes.items()}
    assert shapes == info["memory_shapes"]


def test_grpc_act_equals_http_act_step_by_step_with_recurrent_memory(client, grpc_client):
    observations = observation_stream(5, seed=4)
    http_memory = grpc_memory = None
    for obs in observations:
        http = client.act(obs, memory=http_memory, probabilities=True)
        grpc = grpc_client.act(obs, memory=grpc_memory, probabilities=True)
        http_memory, grpc_memory = http["memory"], grpc["memory"]
        assert grpc["actions"].tolist() == http["actions"]
        np.testing.assert_allclose(grpc["probabilities"], http["probabilities"], atol=1e-6)
        for name, leaves in http_memory.items():
            for grpc_leaf, http_leaf in zip(grpc_memory[name], leaves, strict=True):
                np.testing.assert_allclose(grpc_leaf, http_leaf, atol=1e-6)
    assert grpc["members_used"] == http["members_used"] and grpc["rule"] == http["rule"]


def test_grpc_batch_and_mask_equal_http(client, grpc_client):
    observations = observation_stream(3, seed=5)
    mask = np.ones((3, 3, 5), bool)
    mask[:, :, 0] = False
    http = client.act(observations, legal_action_mask=mask, reset=[True, True, True])
    grpc = grpc_client.act(observations, legal_action_mask=mask, reset=[True, True, True])
    assert grpc["actions"].tolist() == http["actions"]
    assert (grpc["actions"] != 0).all()


def test_grpc_refusals_are_status_codes_with_a_one_line_detail(served, grpc_client):
    import grpc

    from marlax.serve.grpc_client import GrpcServeClient, GrpcServeError

    server, _, _ = served
    address = f"127.0.0.1:{server.settings.grpc_port}"
    refusals = []
    for token in (None, "wrong-token"):
        with pytest.raises(GrpcServeError) as refused:
            GrpcServeClient(address, token=token, retries=0).act(observation_stream(1)[0])
        refusals.append(refused.value)
    with pytest.raises(GrpcServeError) as bad_shape:
        grpc_client.act(np.zeros((2, 18), np.float32))
    with pytest.raises(GrpcServeError) as oversized:
        grpc_client.act(np.zeros((1, 3, 18), np.float32), members=["x" * MAX_BYTES])
    codes = [error.code for error in (*refusals, bad_shape.value, oversized.value)]
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2 + [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ]
    assert refusals[0].details.startswith("authorization: ")
    assert bad_shape.value.details.startswith("observations: shape ")
    for error in (*refusals, bad_shape.value, oversized.value):
        assert "\n" not in error.details and "Traceback" not in error.details
