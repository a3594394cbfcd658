"""No N x N array anywhere in a PPO update with coordination inside the policy (coverage).

The whole update program (rollout, GAE, epochs of minibatch gradients, optimiser) is traced
for abstract inputs, and every equation output at every depth (jit bodies, scan and while
bodies, cond branches, custom_jvp/custom_vjp calls, remat) is checked:

- at N = 5000 (slow tier; tracing only, nothing runs): no output of none / consensus /
  assignment with M = 64 (nor of none with the centralised critic) holds N*N elements or
  more, or has two axes of length >= N;
- at N = 128 (fast): the same walker finds the [teams, N, M] Sinkhorn plan of an assignment
  to M = N targets (so it does see inside the nested programs), and nothing with two axes
  >= N for consensus, nor for the centralised critic (MAPPO: its global state, 4N + 4M
  floats, is stored and embedded once per env step, never copied into N agent rows). At
  this N the element count alone proves nothing (a [T*B, N, 64] hidden layer already holds
  more than N*N = 16384 elements), so the fast test uses the shape criterion; N = 128
  exceeds every constant width of these programs (hidden 64, observation 33, 108
  neighbour-grid candidates).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from marlax.algorithms.ppo.trainer import Trainer
from marlax.bench.train_scaling import (
    at_least_elements,
    large_arrays,
    pair_axes,
    scaling_overrides,
    shapes_summary,
)
from marlax.config import load_config

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "coverage_ippo.json"


def _update_jaxpr(num_agents: int, kind: str, num_targets: int, critic: str = "independent"):
    """The ClosedJaxpr of one PPO update (every seed) on coverage, traced abstractly."""
    overrides = scaling_overrides(num_agents, kind, num_targets) + [f"ppo.critic={critic}"]
    trainer = Trainer(load_config(CONFIG, overrides))
    return trainer.update_program(1).trace(trainer.abstract_state()).jaxpr


def test_walker_finds_the_dense_assignment_plan() -> None:
    num_agents = 128
    jaxpr = _update_jaxpr(num_agents, "assignment", num_targets=num_agents)
    found = large_arrays(jaxpr, pair_axes(num_agents), limit=1000)
    assert found, "the [teams, N, M] plan of an assignment to M = N targets was not found"
    # the plan sits inside nested programs (scan over rollout steps, epochs, Sinkhorn
    # iterations): its trailing axes are exactly [N, M]
    assert any(array.shape[-2:] == (num_agents, num_agents) for array in found)
    # and it is found both when acting (B = 2 teams) and when learning (16 team-steps)
    leading = {math.prod(array.shape[:-2]) for array in found}
    assert {2, 16} <= leading, leading


def test_consensus_update_has_no_agent_pair_array() -> None:
    num_agents = 128
    jaxpr = _update_jaxpr(num_agents, "consensus", num_targets=num_agents)
    found = large_arrays(jaxpr, pair_axes(num_agents))
    assert not found, shapes_summary(found)


def test_centralised_critic_update_has_no_agent_pair_array() -> None:
    num_agents = 128
    jaxpr = _update_jaxpr(num_agents, "none", num_targets=num_agents, critic="centralised")
    found = large_arrays(jaxpr, pair_axes(num_agents))
    assert not found, shapes_summary(found)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "num_targets", "critic"),
    [
        ("none", 5000, "independent"),
        ("consensus", 5000, "independent"),
        ("assignment", 64, "independent"),
        ("none", 5000, "centralised"),
    ],
)
def test_no_n_squared_array_at_5000_agents(kind: str, num_targets: int, critic: str) -> None:
    num_agents = 5000
    jaxpr = _update_jaxpr(num_agents, kind, num_targets, critic)
    too_big = large_arrays(jaxpr, at_least_elements(num_agents * num_agents))
    assert not too_big, shapes_summary(too_big)
    pairs = large_arrays(jaxpr, pair_axes(num_agents))
    assert not pairs, shapes_summary(pairs)
