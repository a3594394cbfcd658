"""The assignment layer over each agent's k nearest tasks (`AssignmentCoordination.nearest`).

Checked: with every task a candidate it gives the dense layer's features (same parameters,
converged plans); an agent with no candidate gets zero features and a masked agent changes
nobody else's; a coordinated model needs the candidates; settings name their field; nothing
in a forward and backward pass at N = M = 5000 has two axes of size >= N.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.models.coordinated import AssignmentCoordination, TeamInputs, make_coordination
from marlax.models.registry import make_model
from tests.models.helpers import NUM_ACTIONS, OBS_DIM
from tests.models.test_coordinated import _forward_backward_shapes, _largest_agent_product

TASK_DIM = 4
LOCAL = {"embedding_dim": 4, "temperature": 0.5, "distance_weight": 0.5, "relative": True}


def _geometry(key: jax.Array, num_agents: int, num_tasks: int):
    """Agents and tasks in [-2, 2]^2: (hidden f32[1, N, 8], tasks f32[1, M, 4], dense offsets
    f32[1, N, M, 2], every task as a candidate in a shuffled order i32[1, N, M])."""
    keys = jax.random.split(key, 5)
    hidden = jax.random.normal(keys[0], (1, num_agents, 8))
    tasks = jax.random.normal(keys[1], (1, num_tasks, TASK_DIM))
    agents = jax.random.uniform(keys[2], (num_agents, 2), minval=-2.0, maxval=2.0)
    targets = jax.random.uniform(keys[3], (num_tasks, 2), minval=-2.0, maxval=2.0)
    offsets = (targets[None, :, :] - agents[:, None, :])[None]
    order = jax.vmap(lambda k: jax.random.permutation(k, num_tasks))(
        jax.random.split(keys[4], num_agents)
    )
    return hidden, tasks, offsets, order[None].astype(jnp.int32)


def _local_team(agent_mask, tasks, offsets, candidates) -> TeamInputs:
    """The team inputs of the local layer: offsets to the candidates only."""
    local_offsets = jnp.take_along_axis(offsets, candidates[..., None], axis=2)
    local_offsets = jnp.where(candidates[..., None] >= 0, local_offsets, 0.0)
    return TeamInputs(
        agent_mask,
        tasks,
        jnp.ones(tasks.shape[:2], bool),
        task_offsets=local_offsets,
        task_neighbours=candidates,
    )


def test_every_task_a_candidate_gives_the_dense_features():
    """k = M (in shuffled order) and a radius that holds every task: the same parameters
    give the dense layer's output (task embedding, relative offset) once both plans have
    converged (1000 iterations at temperature 0.5: 6.6e-6 apart in f32, 1.6e-3 after 200;
    tolerance 1e-4)."""
    num_agents, num_tasks = 6, 5
    hidden, tasks, offsets, candidates = _geometry(jax.random.key(0), num_agents, num_tasks)
    agent_mask = jnp.ones((1, num_agents), bool).at[0, 4].set(False)
    dense = AssignmentCoordination(**LOCAL, num_iterations=1000)
    local = dense.clone(nearest=num_tasks, radius=100.0)
    dense_team = TeamInputs(agent_mask, tasks, jnp.ones((1, num_tasks), bool), task_offsets=offsets)
    params = dense.init(jax.random.key(1), hidden, dense_team)
    local_team = _local_team(agent_mask, tasks, offsets, candidates)
    assert jax.tree.structure(local.init(jax.random.key(1), hidden, local_team)) == (
        jax.tree.structure(params)
    )
    expected = dense.apply(params, hidden, dense_team)
    found = local.apply(params, hidden, local_team)
    assert found.shape == (1, num_agents, 4 + 3)
    np.testing.assert_allclose(found, expected, atol=1e-4)
    assert float(jnp.std(found[0, :, 4:6])) > 0.05  # the offsets differ between agents


def test_an_agent_without_candidates_gets_zero_and_a_masked_one_moves_nobody():
    num_agents, num_tasks, k = 6, 8, 3
    hidden, tasks, offsets, order = _geometry(jax.random.key(2), num_agents, num_tasks)
    candidates = order[..., :k].at[0, 1].set(-1).at[0, 2, 1:].set(-1)  # agent 1: none
    layer = AssignmentCoordination(**LOCAL, nearest=k, radius=1.0)
    agent_mask = jnp.ones((1, num_agents), bool).at[0, 3].set(False)
    team = _local_team(agent_mask, tasks, offsets, candidates)
    params = layer.init(jax.random.key(3), hidden, team)
    step = jax.jit(layer.apply)
    extra = step(params, hidden, team)
    np.testing.assert_array_equal(extra[0, 1], 0.0)  # no task: zero embedding, offset, log 1
    # agent 2 has one candidate: its whole row goes there (embedding of that task)
    dense = params["params"]["task_embedding"]
    only = tasks[0, candidates[0, 2, 0]] @ dense["kernel"] + dense["bias"]
    np.testing.assert_allclose(extra[0, 2, :4], only, atol=1e-5)
    scrambled = hidden.at[0, 3].set(10.0 * jax.random.normal(jax.random.key(4), (8,)))
    others = np.arange(num_agents) != 3
    np.testing.assert_allclose(step(params, scrambled, team)[0, others], extra[0, others])


def test_settings_name_their_field_and_the_model_needs_the_candidates():
    for settings, field in [
        ({"nearest": 8}, "coordination.radius"),
        ({"radius": 3.0}, "coordination.nearest"),
        ({"nearest": 0, "radius": 3.0}, "coordination.nearest"),
        ({"nearest": 8, "radius": 0.0}, "coordination.radius"),
        ({"nearest": 2.5, "radius": 3.0}, "coordination.nearest"),
    ]:
        with pytest.raises(ConfigError) as error:
            make_coordination({"kind": "assignment", **settings})
        assert error.value.field == field, settings
    layer = make_coordination({"kind": "assignment", "nearest": 8, "radius": 3.0})
    assert layer.task_neighbourhood == (8, 3.0)
    assert make_coordination({"kind": "assignment"}).task_neighbourhood is None
    model = make_model(
        "mlp",
        num_actions=NUM_ACTIONS,
        coordination={"kind": "assignment", "nearest": 2, "radius": 1.0},
        hidden_sizes=(8,),
    )
    team = TeamInputs(jnp.ones((1, 3), bool), jnp.zeros((1, 4, 2)), jnp.ones((1, 4), bool))
    with pytest.raises(ValueError, match="nearest tasks"):
        model.init(
            jax.random.key(0),
            model.initialize_carry((1, 3)),
            jnp.zeros((1, 3, OBS_DIM)),
            jnp.zeros((1, 3), bool),
            team,
        )


def test_no_n_by_n_intermediate_at_5000_agents_and_tasks():
    """The jaxpr of a forward and backward pass on one team of N = M = 5000 with k = 8
    candidates, relative targets and the distance prior holds no array with two axes of
    size >= N (the dense layer's [N, M] plan would have them)."""
    num_agents = num_tasks = 5000
    k = 8
    model = make_model(
        "mlp",
        num_actions=NUM_ACTIONS,
        encoder_settings={"hidden_sizes": (4,)},
        coordination={"kind": "assignment", **LOCAL, "nearest": k, "radius": 3.0},
        hidden_sizes=(4,),
    )
    carry = model.initialize_carry((1, num_agents))
    obs = jnp.zeros((1, num_agents, OBS_DIM))
    reset = jnp.zeros((1, num_agents), bool)
    candidates = jnp.zeros((1, num_agents, k), jnp.int32)
    team = TeamInputs(
        jnp.ones((1, num_agents), bool),
        jnp.zeros((1, num_tasks, TASK_DIM)),
        jnp.ones((1, num_tasks), bool),
        task_offsets=jnp.zeros((1, num_agents, k, 2)),
        task_neighbours=candidates,
    )
    shapes = _forward_backward_shapes(model, carry, obs, reset, team)
    assert (1, num_agents, k) in shapes  # the sparse plan is really there
    assert _largest_agent_product(shapes, num_agents) == 1
    assert max(int(np.prod(shape)) for shape in shapes) < num_agents * 64
