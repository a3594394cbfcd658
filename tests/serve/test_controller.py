"""The controller without Ray: fake member handles, so a member that is down is certain."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from marlax.serve.controller import Controller
from marlax.serve.schema import RequestError, parse_act_request
from marlax.serve.settings import ServeSettings
from marlax.serve.spec import ModelSpec

SPEC = ModelSpec(
    env_name="toy",
    num_agents=2,
    obs_shape=(1,),
    obs_dtype="float32",
    obs_low=-np.inf,
    obs_high=np.inf,
    discrete=True,
    action_size=3,
    members=("a:0", "b:0", "c:0"),
    memory_shapes=(((1, 2),), ((1, 2),), ((1, 2),)),
)


class _Method:
    def __init__(self, probabilities, fail: bool) -> None:
        self.probabilities, self.fail = np.asarray(probabilities, np.float32), fail

    def remote(self, observations, memory, reset, legal_action_mask):
        async def _answer():
            if self.fail:
                raise ConnectionError("replica died")
            batch = observations.shape[0]
            scores = np.log(np.broadcast_to(self.probabilities, (batch, 2, 3)))
            leaves = (np.full((batch, 1, 2), 7.0, np.float32),)
            return scores, leaves

        return _answer()


class _Member:
    def __init__(self, probabilities, fail: bool = False) -> None:
        self.act = _Method(probabilities, fail)


def _controller(fails=(False, False, False), rule="soft_vote") -> Controller:
    members = [
        _Member([0.6, 0.3, 0.1], fails[0]),  # prefers action 0
        _Member([0.1, 0.5, 0.4], fails[1]),  # prefers action 1
        _Member([0.1, 0.45, 0.45], fails[2]),
    ]
    settings = ServeSettings(runs=SPEC.members, rule=rule, member_timeout_s=1.0)
    return Controller(members, SPEC, settings)


def _request(**fields):
    body = json.dumps({"observations": [[0.0], [1.0]], "probabilities": True, **fields})
    return parse_act_request(body.encode(), SPEC, max_agents=8)


@pytest.mark.parametrize("rule", ["soft_vote", "average"])
def test_all_members_answer_the_mean_probability_vote(rule):
    answer = asyncio.run(_controller(rule=rule).answer(_request()))
    # mean probabilities (0.2667, 0.4167, 0.3167): action 1 by hand
    np.testing.assert_allclose(answer["probabilities"][0], [0.8 / 3, 1.25 / 3, 0.95 / 3], 1e-5)
    assert answer["actions"] == [1, 1] and answer["members_down"] == []


def test_a_member_down_is_left_out_and_named():
    answer = asyncio.run(_controller(fails=(False, True, True)).answer(_request()))
    assert answer["members_used"] == ["a:0"] and answer["members_down"] == ["b:0", "c:0"]
    assert answer["actions"] == [0, 0]
    np.testing.assert_allclose(answer["probabilities"][1], [0.6, 0.3, 0.1], 1e-5)


def test_a_member_down_keeps_the_memory_it_was_sent():
    memory = {name: [[[1.0, 2.0]]] for name in SPEC.members}
    answer = asyncio.run(_controller(fails=(False, True, False)).answer(_request(memory=memory)))
    assert answer["memory"]["b:0"] == [[[1.0, 2.0]]]
    assert answer["memory"]["a:0"] == [[[7.0, 7.0]]]


def test_every_member_down_is_a_503():
    with pytest.raises(RequestError) as refused:
        asyncio.run(_controller(fails=(True, True, True)).answer(_request()))
    assert refused.value.status == 503 and "a:0" in refused.value.reason


def test_a_member_subset_is_asked_alone():
    answer = asyncio.run(_controller().answer(_request(members=["b:0"])))
    assert answer["members_used"] == ["b:0"] and answer["actions"] == [1, 1]
    assert list(answer["memory"]) == ["b:0"]
