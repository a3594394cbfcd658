"""Coordinated models: the agents of a team mix through a coordination layer after the core.

Checked: permuting agents permutes outputs; a masked (padded or dead) agent changes nobody
else's output; one sequence call equals T steps with resets mid-sequence for every memory
core; jit equals no-jit; the gradient through Sinkhorn matches finite differences (float64);
nothing is N x N at N = 5000 (every shape of the jaxpr of a forward and backward pass).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from marlax.errors import ConfigError
from marlax.models.coordinated import TeamInputs, is_team_coupled, make_coordination
from marlax.models.registry import make_model
from tests.models.helpers import NUM_ACTIONS, OBS_DIM, TINY_CORES

NUM_TASKS = 3
TASK_DIM = 2
KINDS = {
    "consensus": {"kind": "consensus", "features": 4, "sigma": 1.0, "max_iters": 3},
    "assignment": {"kind": "assignment", "embedding_dim": 4, "temperature": 0.5},
    "pipeline": {"kind": "pipeline", "complexity_dim": 2, "embedding_dim": 4, "use_tasks": True},
}
# one compiled model per kind across the tests (compiles dominate their cost)
CORE_OF = {"consensus": "mlp", "assignment": "gru", "pipeline": "mlp"}
KIND_PARAMS = [
    "assignment",
    # ~7 s each (CI time); consensus keeps jit == no-jit in the fast tier, and the layer's own
    # mask test (tests/coordination/test_layers.py)
    pytest.param("consensus", marks=pytest.mark.slow),
    pytest.param("pipeline", marks=pytest.mark.slow),
]


def coordinated(name: str, kind: str):
    """A tiny coordinated model: core `name`, coordination `kind`."""
    return make_model(
        name,
        num_actions=NUM_ACTIONS,
        encoder_settings={"hidden_sizes": (8,)},
        coordination=KINDS[kind],
        **TINY_CORES[name],
    )


def team_inputs(key: jax.Array, lead: tuple[int, ...], num_agents: int) -> TeamInputs:
    """All agents active, random tasks (all valid) for teams of shape `lead`."""
    tasks = jax.random.normal(key, (*lead, NUM_TASKS, TASK_DIM))
    return TeamInputs(
        jnp.ones((*lead, num_agents), bool), tasks, jnp.ones((*lead, NUM_TASKS), bool)
    )


@functools.cache
def initialised(name: str, kind: str):
    """(model, params, jitted step) initialised on teams [2, 4]."""
    model = coordinated(name, kind)
    carry = model.initialize_carry((2, 4))
    obs = jnp.zeros((2, 4, OBS_DIM))
    team = team_inputs(jax.random.key(1), (2,), 4)
    params = jax.jit(model.init)(jax.random.key(0), carry, obs, jnp.zeros((2, 4), bool), team)
    return model, params, jax.jit(model.apply)


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_permuting_agents_permutes_outputs(kind):
    model, params, step = initialised(CORE_OF[kind], kind)
    obs = jax.random.normal(jax.random.key(2), (2, 4, OBS_DIM))
    team = team_inputs(jax.random.key(3), (2,), 4)
    carry = model.initialize_carry((2, 4))
    reset = jnp.zeros((2, 4), bool)
    _, (logits, value) = step(params, carry, obs, reset, team)
    order = jnp.array([2, 0, 3, 1])
    _, (permuted_logits, permuted_value) = step(params, carry, obs[:, order], reset, team)
    np.testing.assert_allclose(permuted_logits, logits[:, order], atol=2e-5)
    np.testing.assert_allclose(permuted_value, value[:, order], atol=2e-5)
    # the layer really couples the agents: changing agent 0 moves agent 1's output
    moved = obs.at[:, 0].add(3.0)
    _, (moved_logits, _) = step(params, carry, moved, reset, team)
    assert float(jnp.max(jnp.abs(moved_logits[:, 1] - logits[:, 1]))) > 1e-4


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_a_masked_agent_changes_nobody_elses_output(kind):
    model, params, step = initialised(CORE_OF[kind], kind)
    obs = jax.random.normal(jax.random.key(4), (2, 4, OBS_DIM))
    team = team_inputs(jax.random.key(5), (2,), 4)
    team = team.replace(agent_mask=team.agent_mask.at[0, 2].set(False))
    carry = model.initialize_carry((2, 4))
    reset = jnp.zeros((2, 4), bool)
    _, (logits, value) = step(params, carry, obs, reset, team)
    scrambled = obs.at[0, 2].set(jax.random.normal(jax.random.key(6), (OBS_DIM,)) * 10.0)
    _, (other_logits, other_value) = step(params, carry, scrambled, reset, team)
    others = np.array([True, True, False, True])
    np.testing.assert_allclose(other_logits[0, others], logits[0, others], atol=1e-6)
    np.testing.assert_allclose(other_value[0, others], value[0, others], atol=1e-6)
    np.testing.assert_array_equal(other_logits[1], logits[1])  # another team: untouched


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("gru", "assignment"),
        # ~8-10 s each (CI time): the cores' own step == sequence tests run in the fast tier
        pytest.param("gru", "consensus", marks=pytest.mark.slow),
        pytest.param("transformer", "consensus", marks=pytest.mark.slow),
        pytest.param("ssm", "consensus", marks=pytest.mark.slow),
        pytest.param("s5", "consensus", marks=pytest.mark.slow),
    ],
)
def test_sequence_equals_steps_with_resets_mid_sequence(name, kind):
    model, params, step = initialised(name, kind)
    steps, lead, num_agents = 5, (2,), 4
    keys = jax.random.split(jax.random.key(7), 3)
    obs_seq = jax.random.normal(keys[0], (steps, *lead, num_agents, OBS_DIM))
    reset_seq = jnp.zeros((steps, *lead, num_agents), bool).at[0].set(True)
    reset_seq = reset_seq.at[3, 0].set(True)  # team 0 starts a new episode at t = 3
    team_seq = team_inputs(keys[1], (steps, *lead), num_agents)
    dead = jax.random.bernoulli(keys[2], 0.3, (steps, *lead, num_agents))
    team_seq = team_seq.replace(agent_mask=~dead)
    carry = model.initialize_carry((*lead, num_agents))
    sequence = jax.jit(functools.partial(model.apply, method="sequence"))
    final, (logits_seq, value_seq) = sequence(params, carry, obs_seq, reset_seq, team_seq)
    for t in range(steps):
        team_t = jax.tree.map(lambda leaf, t=t: leaf[t], team_seq)
        carry, (logits, value) = step(params, carry, obs_seq[t], reset_seq[t], team_t)
        np.testing.assert_allclose(logits_seq[t], logits, atol=2e-5, err_msg=f"t={t}")
        np.testing.assert_allclose(value_seq[t], value, atol=2e-5, err_msg=f"t={t}")
    for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(carry), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_jit_equals_no_jit():
    model, params, step = initialised("gru", "assignment")
    obs = jax.random.normal(jax.random.key(8), (2, 4, OBS_DIM))
    team = team_inputs(jax.random.key(9), (2,), 4)
    carry = model.initialize_carry((2, 4))
    reset = jnp.zeros((2, 4), bool)
    jitted = step(params, carry, obs, reset, team)
    plain = model.apply(params, carry, obs, reset, team)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(plain), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_gradient_through_sinkhorn_matches_finite_differences():
    """The unrolled Sinkhorn gradient of the outputs with respect to the observations and
    the tasks, on a team of 3 agents and 3 tasks, against central finite differences along
    random directions (f32, step 1e-2: truncation ~1e-4, rounding ~1e-5; the implicit rule on
    an unconverged plan is off by tens of percent).

    (Consensus is not checked this way on purpose: `RobustConsensus` holds its robust scale,
    a median, out of the gradient (`stop_gradient`), so its gradient is that of the mean
    shift at a fixed bandwidth, ~9% off the finite difference on this team.)"""
    model, params, _ = initialised("gru", "assignment")
    weights = jax.random.normal(jax.random.key(10), (1, 3, NUM_ACTIONS))
    obs = jax.random.normal(jax.random.key(11), (1, 3, OBS_DIM))
    tasks = jax.random.normal(jax.random.key(12), (1, NUM_TASKS, TASK_DIM))
    carry = model.initialize_carry((1, 3))

    @jax.jit
    def _objective(obs, tasks):
        team = TeamInputs(jnp.ones((1, 3), bool), tasks, jnp.ones((1, NUM_TASKS), bool))
        _, (logits, value) = model.apply(params, carry, obs, jnp.zeros((1, 3), bool), team)
        return jnp.sum(logits * weights) * 100.0 + jnp.sum(value**2)

    check_grads(_objective, (obs, tasks), order=1, modes=("rev",), eps=1e-2, atol=2e-3, rtol=2e-3)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("consensus", marks=pytest.mark.slow),  # ~3 s (CI time)
        "assignment",  # needed the Sinkhorn sum floor above float32's subnormals (1e-30)
    ],
)
def test_gradients_stay_finite_with_masked_agents_and_tasks(kind):
    """Padding and dead agents (and invalid tasks) are masked in training: the loss gradient
    must stay finite, also for a team whose agents are all masked."""
    model, params, _ = initialised(CORE_OF[kind], kind)
    obs = jax.random.normal(jax.random.key(14), (2, 4, OBS_DIM))
    team = team_inputs(jax.random.key(15), (2,), 4)
    team = TeamInputs(
        jnp.array([[True, False, True, True], [False] * 4]),
        team.tasks,
        jnp.array([[True, True, False], [True] * 3]),
    )
    carry = model.initialize_carry((2, 4))

    def _loss(params):
        _, (logits, value) = model.apply(params, carry, obs, jnp.zeros((2, 4), bool), team)
        return jnp.sum(logits**2) + jnp.sum(value**2)

    grads = jax.jit(jax.grad(_loss))(params)
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(grads))


def _shapes(jaxpr) -> list[tuple[int, ...]]:
    """Every array shape in a closed jaxpr, sub-jaxprs (scan, while, cond, custom rules) too."""
    found = []
    for eqn in jaxpr.eqns:
        found += [tuple(v.aval.shape) for v in (*eqn.invars, *eqn.outvars) if hasattr(v, "aval")]
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += _shapes(inner)
    return found


def _forward_backward_shapes(model, carry, obs, reset, team) -> list[tuple[int, ...]]:
    """Every array shape in the jaxpr of the model's loss and its gradient (traced only, zero
    parameters: nothing runs at N = 5,000)."""
    params = jax.eval_shape(model.init, jax.random.key(0), carry, obs, reset, team)
    params = jax.tree.map(lambda leaf: jnp.zeros(leaf.shape, leaf.dtype), params)

    def _loss(params):
        _, (logits, value) = model.apply(params, carry, obs, reset, team)
        return jnp.sum(logits) + jnp.sum(value)

    return _shapes(jax.make_jaxpr(jax.value_and_grad(_loss))(params).jaxpr)


def _largest_agent_product(shapes: list[tuple[int, ...]], num_agents: int) -> int:
    """The most axes of size >= num_agents that any one array has."""
    return max(sum(dim >= num_agents for dim in shape) for shape in shapes)


def test_the_shape_check_sees_an_n_by_n_array():
    def _pairwise(x):
        return jnp.sum(jax.lax.scan(lambda c, _: (c, x[:, None] - x[None, :]), 0.0, None, 2)[1])

    shapes = _shapes(jax.make_jaxpr(_pairwise)(jnp.zeros(50)).jaxpr)
    assert _largest_agent_product(shapes, 50) == 2


@pytest.mark.parametrize("kind", ["consensus", "assignment"])
def test_no_n_by_n_intermediate_at_5000_agents(kind):
    """The jaxpr of a forward and backward pass on one team of N = 5000 agents (M = 3 tasks)
    holds no array with two axes of size >= N: memory and time stay linear in N."""
    num_agents = 5000
    model = make_model(
        "mlp",
        num_actions=NUM_ACTIONS,
        encoder_settings={"hidden_sizes": (4,)},
        coordination=KINDS[kind],
        hidden_sizes=(4,),
    )
    carry = model.initialize_carry((1, num_agents))
    obs = jnp.zeros((1, num_agents, OBS_DIM))
    reset = jnp.zeros((1, num_agents), bool)
    team = team_inputs(jax.random.key(13), (1,), num_agents)
    shapes = _forward_backward_shapes(model, carry, obs, reset, team)
    assert (1, num_agents, NUM_ACTIONS) in shapes  # the agent axis is really there
    assert _largest_agent_product(shapes, num_agents) == 1
    assert max(int(np.prod(shape)) for shape in shapes) < num_agents * 64


def test_settings_are_checked_with_their_field():
    assert is_team_coupled(coordinated("mlp", "consensus"))
    with pytest.raises(ConfigError, match=r"coordination\.kind"):
        make_coordination({"kind": "telepathy"})
    with pytest.raises(ConfigError, match=r"coordination\.sigma"):
        make_coordination({"kind": "consensus", "sigma": -1.0})
    with pytest.raises(ConfigError, match=r"coordination\.temprature"):
        make_coordination({"kind": "assignment", "temprature": 0.1})
    with pytest.raises(ConfigError, match=r"model\.coordination"):
        make_model(
            "mlp",
            num_actions=2,
            graph="perception_conception_action",
            coordination={"kind": "consensus"},
        )


def test_assignment_without_tasks_says_what_it_needs():
    model, params, _ = initialised("gru", "assignment")
    with pytest.raises(ValueError, match="tasks"):
        model.apply(
            params,
            model.initialize_carry((2, 4)),
            jnp.zeros((2, 4, OBS_DIM)),
            jnp.zeros((2, 4), bool),
        )


def _neighbour_consensus(features: int = 4):
    """A consensus over each agent's 2 nearest team-mates, on a tiny MLP (6 agents)."""
    settings = {"kind": "consensus", "features": features, "sigma": 1.0, "max_iters": 3}
    model = make_model(
        "mlp",
        num_actions=NUM_ACTIONS,
        encoder_settings={"hidden_sizes": (8,)},
        coordination={**settings, "neighbours": 2, "radius": 1.0},
        hidden_sizes=(8,),
    )
    return model


# agents 0-2 are a chain of neighbours, agents 3-5 another; -1 = empty slot
NEIGHBOURS = jnp.array([[[1, 2], [0, 2], [1, 0], [4, -1], [3, 5], [4, -1]]], jnp.int32)


def test_a_neighbourhood_consensus_reads_only_the_neighbours():
    model = _neighbour_consensus()
    carry = model.initialize_carry((1, 6))
    reset = jnp.zeros((1, 6), bool)
    obs = jax.random.normal(jax.random.key(20), (1, 6, OBS_DIM))
    team = TeamInputs(jnp.ones((1, 6), bool), neighbours=NEIGHBOURS)
    params = model.init(jax.random.key(21), carry, obs, reset, team)
    step = jax.jit(model.apply)
    _, (_, value) = step(params, carry, obs, reset, team)
    moved = obs.at[0, 3].add(5.0)  # agent 3 is a neighbour of agent 4 only
    _, (_, moved_value) = step(params, carry, moved, reset, team)
    others = np.array([True, True, True, False, False, True])
    np.testing.assert_allclose(moved_value[0, others], value[0, others], atol=1e-6)
    assert abs(float(moved_value[0, 4] - value[0, 4])) > 1e-5  # unchanged ones: exactly 0
    # a dead neighbour no longer shapes agent 4's message
    dead = TeamInputs(jnp.ones((1, 6), bool).at[0, 3].set(False), neighbours=NEIGHBOURS)
    _, (_, dead_value) = step(params, carry, obs, reset, dead)
    _, (_, dead_moved) = step(params, carry, moved, reset, dead)
    np.testing.assert_allclose(dead_moved[0, 4], dead_value[0, 4], atol=1e-6)


def test_a_neighbourhood_of_the_whole_team_is_the_team_consensus():
    local, whole = _neighbour_consensus(), coordinated("mlp", "consensus")
    carry = local.initialize_carry((1, 4))
    reset = jnp.zeros((1, 4), bool)
    obs = jax.random.normal(jax.random.key(22), (1, 4, OBS_DIM))
    everyone = jnp.array([[[j for j in range(4) if j != i] for i in range(4)]], jnp.int32)
    local = local.clone(coordination=local.coordination.clone(neighbours=3))
    team = TeamInputs(jnp.ones((1, 4), bool), neighbours=everyone)
    params = local.init(jax.random.key(23), carry, obs, reset, team)
    _, (logits, value) = local.apply(params, carry, obs, reset, team)
    _, (team_logits, team_value) = whole.apply(
        params, carry, obs, reset, TeamInputs(team.agent_mask)
    )
    np.testing.assert_allclose(logits, team_logits, atol=1e-5)
    np.testing.assert_allclose(value, team_value, atol=1e-5)


def test_neighbours_need_a_radius_and_the_model_needs_them():
    with pytest.raises(ConfigError) as error:
        make_coordination({"kind": "consensus", "neighbours": 3})
    assert error.value.field == "coordination.radius"
    with pytest.raises(ConfigError) as error:
        make_coordination({"kind": "consensus", "neighbours": 0, "radius": 1.0})
    assert error.value.field == "coordination.neighbours"
    model = _neighbour_consensus()
    carry = model.initialize_carry((1, 6))
    with pytest.raises(ValueError, match="neighbours"):
        model.init(jax.random.key(0), carry, jnp.zeros((1, 6, OBS_DIM)), jnp.zeros((1, 6), bool))


def test_a_strong_distance_prior_assigns_each_agent_its_nearest_task():
    from marlax.models.coordinated import AssignmentCoordination

    layer = AssignmentCoordination(embedding_dim=4, temperature=0.1, distance_weight=100.0)
    hidden = jax.random.normal(jax.random.key(30), (1, 3, 8))
    tasks = jax.random.normal(jax.random.key(31), (1, 3, TASK_DIM))
    nearest = jnp.array([2, 0, 1])  # agent i's nearest task; every other task 1 unit farther
    offsets = _offsets_one_unit_from_all_but(nearest)
    team = TeamInputs(jnp.ones((1, 3), bool), tasks, jnp.ones((1, 3), bool), task_offsets=offsets)
    params = layer.init(jax.random.key(32), hidden, team)
    extra = layer.apply(params, hidden, team)  # plan @ Dense(tasks): each agent's task
    dense = params["params"]["task_embedding"]
    embedded = tasks[0] @ dense["kernel"] + dense["bias"][None, :]
    np.testing.assert_allclose(extra[0], embedded[nearest], atol=1e-4)
    # without the prior the same parameters give a blend, not the nearest tasks
    blind = layer.clone(distance_weight=0.0)
    assert float(jnp.max(jnp.abs(blind.apply(params, hidden, team)[0] - embedded[nearest]))) > 1e-2
    with pytest.raises(ConfigError) as error:
        make_coordination({"kind": "assignment", "distance_weight": -1.0})
    assert error.value.field == "coordination.distance_weight"


def _offsets_one_unit_from_all_but(nearest: jax.Array) -> jax.Array:
    """f32[1, N, N, 2]: task j lies (1, 0) from agent i, except its nearest, at (0, 0)."""
    away = 1.0 - jax.nn.one_hot(nearest, nearest.shape[0])[None]
    return jnp.stack([away, jnp.zeros_like(away)], axis=-1)


def test_relative_gives_each_agent_the_offset_of_its_assigned_task():
    from marlax.models.coordinated import AssignmentCoordination

    layer = AssignmentCoordination(
        embedding_dim=4, temperature=0.1, distance_weight=100.0, relative=True
    )
    hidden = jax.random.normal(jax.random.key(33), (1, 3, 8))
    tasks = jax.random.normal(jax.random.key(34), (1, 3, TASK_DIM))
    nearest = jnp.array([1, 2, 0])
    # the nearest task is at (0.5, -2) from each agent; the others at (1.5, -2)
    offsets = _offsets_one_unit_from_all_but(nearest) + jnp.array([[[[0.5, -2.0]]]])
    team = TeamInputs(jnp.ones((1, 3), bool), tasks, jnp.ones((1, 3), bool), task_offsets=offsets)
    params = layer.init(jax.random.key(35), hidden, team)
    extra = layer.apply(params, hidden, team)
    assert extra.shape == (1, 3, 4 + 3)
    length = np.sqrt(0.5**2 + 2.0**2 + 1.0)  # r = sqrt(|o|^2 + 1) with o = (0.5, -2)
    expected = np.array([0.5 / length, -2.0 / length, np.log(length)])
    np.testing.assert_allclose(extra[0, :, 4:], np.tile(expected, (3, 1)), atol=1e-4)
    # the relative features carry the plan's gradient (weak prior: the plan is soft)
    soft = layer.clone(distance_weight=0.0)

    def _relative_sum(hidden: jax.Array) -> jax.Array:
        return jnp.sum(soft.apply(params, hidden, team)[..., 4:])

    assert float(jnp.max(jnp.abs(jax.grad(_relative_sum)(hidden)))) > 1e-4
    with pytest.raises(ConfigError) as error:
        make_coordination({"kind": "assignment", "relative": "yes"})
    assert error.value.field == "coordination.relative"
