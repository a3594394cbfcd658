"""Hand-checked rules of `battle` (magent2's battle_v4 in JAX), and magent2 as a reference."""

from __future__ import annotations

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.battle import Battle, BattleState
from marlax.envs.battle.constants import (
    ATTACK_BASE,
    ATTACK_DELTAS,
    CHANNEL_ENEMY,
    CHANNEL_ENEMY_HP,
    CHANNEL_OWN,
    CHANNEL_OWN_HP,
    CHANNEL_TEAM,
    CHANNEL_WALL,
    CHANNEL_X,
    CHANNEL_Y,
    MAX_HP,
    MOVE_DELTAS,
    NOOP,
    NUM_ACTIONS,
)
from marlax.envs.battle.generator import block_spacing, max_agents_per_side, start_positions
from marlax.errors import ConfigError

# 10 x 10 map (inner cells 1..8); agents 0, 1 are team 0, agents 2, 3 team 1
ENV = Battle(agents_per_side=2, map_size=10, view_radius=2, max_steps=50)
SCRIPTED = Battle(agents_per_side=2, map_size=10, view_radius=2, max_steps=50, opponent="scripted")
FAR = [[1, 1], [1, 8], [8, 1], [8, 8]]  # corners: nobody in reach of anybody
STEP_REWARD, ATTACK_PENALTY, HIT_REWARD, KILL_REWARD, DEAD_PENALTY = -0.005, -0.1, 0.2, 5.0, -0.1


@jax.jit
def _step(key, state, actions):
    return ENV.step(key, state, actions)


@jax.jit
def _scripted_step(key, state, actions):
    return SCRIPTED.step(key, state, actions)


def _move(dx: int, dy: int) -> int:
    return int(np.flatnonzero(([dx, dy] == MOVE_DELTAS).all(axis=1))[0])


def _attack(dx: int, dy: int) -> int:
    return ATTACK_BASE + int(np.flatnonzero(([dx, dy] == ATTACK_DELTAS).all(axis=1))[0])


def _state(positions, hp=(MAX_HP,) * 4, alive=(True,) * 4, step=0) -> BattleState:
    return BattleState(
        positions=jnp.asarray(positions, jnp.int32),
        hp=jnp.asarray(hp, jnp.int32),
        alive=jnp.asarray(alive, bool),
        step=jnp.int32(step),
    )


def _run(state, action_list, step=_step, seed=0):
    """Step through per-agent actions; returns the last (obs, state, done, info), rewards [T, N]."""
    rewards = []
    for step_index, actions in enumerate(action_list):
        key = jax.random.key(seed * 1000 + step_index)
        obs, state, reward, done, info = step(key, state, jnp.asarray(actions, jnp.int32))
        rewards.append(np.asarray(reward))
    return (obs, state, done, info), np.stack(rewards)


def test_action_ids_are_magent2s():
    assert NUM_ACTIONS == 21 and NOOP == 6 and MOVE_DELTAS[NOOP].tolist() == [0, 0]
    assert len(MOVE_DELTAS) == 13 and int(np.abs(MOVE_DELTAS).sum(axis=1).max()) == 2
    assert ATTACK_BASE == 13 and len(ATTACK_DELTAS) == 8
    assert _attack(1, 0) == 17 and _move(0, -2) == 0 and _move(0, 2) == 12


def test_attack_out_of_range_does_nothing():
    """Agent 0 at (3, 4) tries all 8 attacks; the enemy 2 cells away is out of reach."""
    for attack in range(ATTACK_BASE, NUM_ACTIONS):
        state = _state([[3, 4], FAR[1], [5, 4], FAR[3]], hp=(MAX_HP, MAX_HP, 50, MAX_HP))
        (_, state, _, _), rewards = _run(state, [[attack, NOOP, NOOP, NOOP]])
        assert int(state.hp[2]) == 51  # only the recovery
        assert rewards[0, 0] == pytest.approx(STEP_REWARD + ATTACK_PENALTY)


def test_attack_in_range_removes_two_hp_and_pays_the_hit_reward():
    state = _state([[3, 4], FAR[1], [4, 5], FAR[3]])
    (_, state, _, info), rewards = _run(state, [[_attack(1, 1), NOOP, NOOP, NOOP]])
    assert int(state.hp[2]) == MAX_HP - 20 + 1  # 10 - 2 + 0.1 HP, in tenths
    np.testing.assert_allclose(info["team_hp"], [20.0, 18.1], rtol=1e-6)
    np.testing.assert_allclose(
        rewards[0], [STEP_REWARD + ATTACK_PENALTY + HIT_REWARD] + [STEP_REWARD] * 3, rtol=1e-6
    )


def test_attacking_a_team_mate_does_nothing():
    state = _state([[3, 4], [4, 4], FAR[2], FAR[3]], hp=(MAX_HP, 50, MAX_HP, MAX_HP))
    (_, state, _, _), rewards = _run(state, [[_attack(1, 0), NOOP, NOOP, NOOP]])
    assert int(state.hp[1]) == 51
    assert rewards[0, 0] == pytest.approx(STEP_REWARD + ATTACK_PENALTY)


def test_six_hits_kill_from_full_hp():
    """magent2 kills below 0 HP: 10 HP takes 6 hits of 2 (recovering 0.1 between hits)."""
    state = _state([[3, 4], FAR[1], [4, 4], FAR[3]])
    hit = [_attack(1, 0), NOOP, NOOP, NOOP]
    (_, state, done, info), rewards = _run(state, [hit] * 5)
    assert bool(state.alive[2]) and int(state.hp[2]) == MAX_HP - 5 * 20 + 5  # 0.5 HP left
    assert not bool(done)
    (_, state, done, info), last = _run(state, [hit], seed=1)
    assert not bool(state.alive[2]) and int(state.hp[2]) == 0
    assert last[0, 0] == pytest.approx(STEP_REWARD + ATTACK_PENALTY + KILL_REWARD)
    assert last[0, 2] == pytest.approx(DEAD_PENALTY)
    np.testing.assert_array_equal(info["team_alive"], [2, 1])


def test_dead_agent_stays_dead_and_masked():
    state = _state([[3, 4], FAR[1], [4, 4], FAR[3]], hp=(MAX_HP, MAX_HP, 10, MAX_HP))
    (_, state, _, _), _ = _run(state, [[_attack(1, 0), NOOP, NOOP, NOOP]])
    assert not bool(state.alive[2])
    # the dead agent's actions are ignored; its cell is free; attacks on it hit nothing
    actions = [
        [_attack(1, 0), NOOP, _move(-1, 0), NOOP],
        [_move(1, 0), NOOP, _attack(-1, 0), NOOP],
        [NOOP, NOOP, _move(0, 1), NOOP],
    ]
    (obs, after, _, info), rewards = _run(state, actions, seed=2)
    assert not bool(after.alive[2]) and int(after.hp[2]) == 0
    np.testing.assert_array_equal(after.positions[2], [4, 4])  # frozen where it died
    np.testing.assert_array_equal(after.positions[0], [4, 4])  # agent 0 moved onto that cell
    np.testing.assert_array_equal(rewards[:, 2], 0.0)
    assert rewards[0, 0] == pytest.approx(STEP_REWARD + ATTACK_PENALTY)  # no hit
    assert not bool(np.asarray(obs[2]).any())
    mask = np.asarray(ENV.action_mask(after))
    assert mask[2].tolist() == [action == NOOP for action in range(NUM_ACTIONS)]
    assert mask[[0, 1, 3]].all()
    assert ENV.alive(after).tolist() == [True, True, False, True]
    np.testing.assert_array_equal(info["team_alive"], [2, 1])


def test_kill_reward_goes_to_exactly_one_attacker():
    """Two attackers kill one enemy: one gets the kill reward, the other the hit reward; the
    credited one depends on the step key, and both are credited for some key."""
    credited = set()
    for seed in range(12):
        state = _state([[3, 4], [5, 4], [4, 4], FAR[3]], hp=(MAX_HP, MAX_HP, 30, MAX_HP))
        (_, state, _, _), rewards = _run(
            state, [[_attack(1, 0), _attack(-1, 0), NOOP, NOOP]], seed=seed
        )
        assert not bool(state.alive[2])
        kill = STEP_REWARD + ATTACK_PENALTY + KILL_REWARD
        hit = STEP_REWARD + ATTACK_PENALTY + HIT_REWARD
        np.testing.assert_allclose(sorted(rewards[0, :2]), [hit, kill], rtol=1e-6)
        credited.add(int(np.argmax(rewards[0, :2])))
    assert credited == {0, 1}


def test_two_agents_moving_into_one_cell():
    """Agent 0 (4, 4) -> right and agent 2 (6, 4) -> left both want (5, 4): exactly one
    enters and the other stays; the winner is fixed by the key and varies with it."""
    winners = set()
    for seed in range(12):
        state = _state([[4, 4], FAR[1], [6, 4], FAR[3]])
        (_, state, _, _), _ = _run(state, [[_move(1, 0), NOOP, _move(-1, 0), NOOP]], seed=seed)
        positions = np.asarray(state.positions)
        entered = [bool((positions[i] == [5, 4]).all()) for i in (0, 2)]
        assert sum(entered) == 1
        loser = 2 if entered[0] else 0
        np.testing.assert_array_equal(positions[loser], [4, 4] if loser == 0 else [6, 4])
        winners.add(0 if entered[0] else 2)
        (_, again, _, _), _ = _run(
            _state([[4, 4], FAR[1], [6, 4], FAR[3]]),
            [[_move(1, 0), NOOP, _move(-1, 0), NOOP]],
            seed=seed,
        )
        np.testing.assert_array_equal(again.positions, state.positions)
    assert winners == {0, 2}


def test_occupied_cells_and_walls_block_moves_and_jumps_pass_over():
    # 0 moves into 1's cell (1 moves away this step: still blocked); 2 walks into the border
    # wall (x = 9); 3 jumps 2 cells to a free cell
    state = _state([[3, 4], [4, 4], [8, 5], [6, 6]])
    actions = [[_move(1, 0), _move(0, 1), _move(1, 0), _move(-2, 0)]]
    (_, state, _, _), _ = _run(state, actions)
    np.testing.assert_array_equal(state.positions, [[3, 4], [4, 5], [8, 5], [4, 6]])
    # a jump of 2 passes over an occupied cell: 0 at (3, 4) jumps over (4, 4) to (5, 4)
    state = _state([[3, 4], [4, 4], FAR[2], FAR[3]])
    (_, state, _, _), _ = _run(state, [[_move(2, 0), NOOP, NOOP, NOOP]])
    np.testing.assert_array_equal(state.positions[0], [5, 4])


def test_observation_channels_by_hand():
    """Agent 0 at (2, 4) with a team-mate at (3, 4) and an enemy with 5 HP at (2, 5); the
    view radius is 2, so x = 0 (the border wall) is at view offset -2."""
    state = _state([[2, 4], [3, 4], [2, 5], FAR[3]], hp=(MAX_HP, MAX_HP, 50, MAX_HP))
    obs = np.asarray(ENV._observe(state))  # u8[4, 5, 5, 8]
    r = 2
    view = obs[0]
    assert view[r, r, CHANNEL_OWN] == 255 and view[r, r, CHANNEL_OWN_HP] == 255
    assert view[r + 1, r, CHANNEL_OWN] == 255 and view[r + 1, r, CHANNEL_ENEMY] == 0
    assert view[r, r + 1, CHANNEL_ENEMY] == 255 and view[r, r + 1, CHANNEL_ENEMY_HP] == 128
    assert view[r, r + 1, CHANNEL_OWN] == 0
    assert view[0, :, CHANNEL_WALL].tolist() == [255] * 5  # x = 0 is the border
    assert view[1:, :, CHANNEL_WALL].sum() == 0
    assert view[r, r, CHANNEL_X] == round(255 * 2 / 9) and view[r, r, CHANNEL_Y] == round(
        255 * 4 / 9
    )
    assert view[:, :, CHANNEL_TEAM].sum() == 0
    # the enemy (team 1) sees itself as "own" and agents 0, 1 as enemies
    enemy_view = obs[2]
    assert enemy_view[r, r, CHANNEL_OWN] == 255 and enemy_view[r, r, CHANNEL_OWN_HP] == 128
    assert enemy_view[r, r - 1, CHANNEL_ENEMY] == 255
    assert enemy_view[r + 1, r - 1, CHANNEL_ENEMY_HP] == 255
    assert (enemy_view[:, :, CHANNEL_TEAM] == 255).all()
    # off the map: walls (agent 3 sits in the corner (8, 8); its view reaches x, y = 10)
    corner = obs[3]
    assert (corner[r + 1 :, :, CHANNEL_WALL] == 255).all()
    assert (corner[:, r + 1 :, CHANNEL_WALL] == 255).all()
    assert corner[r + 2, r + 2, CHANNEL_X] == 0  # off the map: no coordinate


def test_float_observations_are_the_bytes_over_255(key):
    float_env = Battle(agents_per_side=2, map_size=10, view_radius=2, obs_dtype="float32")
    byte_obs, state = ENV.reset(key)
    float_obs, float_state = float_env.reset(key)
    assert byte_obs.dtype == jnp.uint8 and float_obs.dtype == jnp.float32
    assert float_env.observation_space.dtype == "float32" and ENV.observation_space.high == 255
    np.testing.assert_allclose(float_obs, np.asarray(byte_obs) / 255.0, rtol=1e-6)
    assert float_env.observation_space.contains(float_obs)


def test_episode_ends_when_one_side_is_wiped_out():
    """Team 1's agent 3 is already dead; killing agent 2 wipes team 1 out."""
    state = _state([[3, 4], FAR[1], [4, 4], FAR[3]], hp=(MAX_HP, MAX_HP, 10, 0), alive=(1, 1, 1, 0))
    (_, state, done, info), rewards = _run(state, [[_attack(1, 0), NOOP, NOOP, NOOP]])
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])
    assert int(info["winner"]) == 0
    np.testing.assert_array_equal(info["team_alive"], [2, 0])
    np.testing.assert_allclose(
        rewards[0],
        [STEP_REWARD + ATTACK_PENALTY + KILL_REWARD, STEP_REWARD, DEAD_PENALTY, 0.0],
        rtol=1e-6,
    )


def test_winner_at_the_time_limit_and_while_running():
    """ENV truncates after 50 steps: start at step 48."""
    noop = [NOOP] * 4
    state = _state([[3, 4], FAR[1], [4, 4], FAR[3]], step=48)
    (_, state, done, info), _ = _run(state, [[_attack(1, 0), NOOP, NOOP, NOOP]])
    assert not bool(done) and int(info["winner"]) == -1
    (_, state, done, info), _ = _run(state, [noop], seed=1)
    # both teams keep 2 agents; team 0 has more HP
    assert bool(info["truncated"]) and int(info["winner"]) == 0
    (_, state, done, info), _ = _run(_state(FAR, step=48), [noop, noop])
    assert bool(info["truncated"]) and int(info["winner"]) == -1  # a draw


def test_scripted_opponent_attacks_then_approaches():
    # agent 2 (scripted) is next to agent 0 (hp 5) and agent 1 (hp 8): it attacks agent 0;
    # agent 3 sees nobody in its view (radius 2) and steps towards team 0's centre
    state = _state([[3, 4], [4, 5], [4, 4], [8, 8]], hp=(50, 80, MAX_HP, MAX_HP))
    (_, after, _, _), rewards = _run(state, [[NOOP, NOOP]], step=_scripted_step)
    assert int(after.hp[0]) == 50 - 20 + 1 and int(after.hp[1]) == 81
    np.testing.assert_array_equal(after.positions[3], [7, 7])
    assert rewards.shape == (1, 2)
    # agent 3 sees agent 1 at offset (-2, -1) and steps diagonally towards it; agent 2 at
    # (5, 1) sees nobody and heads for team 0's centre (3.5, 4): offset (-1.5, 3), not
    # towards its nearest enemy (1, 1)
    state = _state([[1, 1], [6, 7], [5, 1], [8, 8]])
    (_, after, _, _), _ = _run(state, [[NOOP, NOOP]], step=_scripted_step)
    np.testing.assert_array_equal(after.positions[3], [7, 7])
    np.testing.assert_array_equal(after.positions[2], [4, 2])


def test_scripted_episodes_are_determined_by_the_keys(key):
    first = SCRIPTED.reset(key)[1]
    runs = []
    for _ in range(2):
        (obs, state, _, _), rewards = _run(
            first, [[_attack(1, 0), _move(1, 1)]] * 3, _scripted_step
        )
        runs.append((np.asarray(obs), np.asarray(state.positions), np.asarray(state.hp), rewards))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_scripted_team_beats_idle_agents(key):
    _, state = SCRIPTED.reset(key)
    idle = jnp.full((SCRIPTED.num_agents,), NOOP)
    for step_index in range(60):
        _, state, _, done, info = _scripted_step(jax.random.key(step_index), state, idle)
        if bool(done):
            break
    assert bool(info["terminated"]) and int(info["winner"]) == 1


def test_shapes_spaces_and_agent_order(key):
    assert ENV.num_agents == 4 and SCRIPTED.num_agents == 2
    obs, state = jax.jit(SCRIPTED.reset)(key)
    assert obs.shape == (2, 5, 5, 8) and obs.dtype == jnp.uint8
    assert SCRIPTED.observation_space.shape == (5, 5, 8)
    assert SCRIPTED.alive(state).shape == (2,)
    positions = np.asarray(SCRIPTED.agent_positions(state))
    assert positions.shape == (2, 2) and positions.dtype == np.float32
    assert (positions[:, 0] < 5).all()  # the env's agents are team 0, on the left
    assert (obs[:, :, :, CHANNEL_TEAM] == 0).all()
    obs, state = ENV.reset(key)
    assert (np.asarray(obs[2:, :, :, CHANNEL_TEAM]) == 255).all()
    global_state = ENV.global_state(state, obs)
    assert global_state.shape == (10 * 10 * 5,) and float(global_state.max()) == 1.0


@pytest.mark.parametrize(("agents_per_side", "map_size"), [(1, 8), (8, 16), (81, 45), (5000, 300)])
def test_start_blocks_hold_distinct_cells_in_each_half(agents_per_side, map_size, key):
    positions = np.asarray(start_positions(key, agents_per_side, map_size))
    assert positions.shape == (2 * agents_per_side, 2)
    cells = positions[:, 0] * map_size + positions[:, 1]
    assert len(np.unique(cells)) == len(cells)
    assert positions.min() >= 1 and positions.max() <= map_size - 2
    assert (positions[:agents_per_side, 0] < map_size // 2).all()
    assert (positions[agents_per_side:, 0] > (map_size - 1) // 2).all()
    if block_spacing(agents_per_side, map_size) == 2:  # random shifts: keys give other starts
        others = [
            start_positions(jax.random.key(seed), agents_per_side, map_size) for seed in (1, 2, 3)
        ]
        assert any(not np.array_equal(positions, other) for other in others)


def test_no_array_holds_two_agent_axes():
    """O(N) memory: no intermediate of a step has two axes as long as the agent count."""
    env = Battle(agents_per_side=300, map_size=60, opponent="scripted")
    num_agents = 2 * env.agents_per_side

    def _step_fn(key, actions):
        _, state = env.reset(key)
        return env.step(key, state, actions)

    jaxpr = jax.make_jaxpr(_step_fn)(jax.random.key(0), jnp.zeros(env.num_agents, jnp.int32))
    shapes = []

    def _collect(jaxpr) -> None:
        for equation in jaxpr.eqns:
            shapes.extend(var.aval.shape for var in equation.outvars if hasattr(var.aval, "shape"))
        for sub in jax.extend.core.subjaxprs(jaxpr):
            _collect(sub)

    _collect(jaxpr.jaxpr)
    assert shapes, "nothing traced"
    assert all(sum(dim >= num_agents for dim in shape) <= 1 for shape in shapes)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="agents_per_side"):
        make("battle", agents_per_side=200, map_size=20)
    with pytest.raises(ConfigError, match="opponent"):
        make("battle", opponent="random")
    with pytest.raises(ConfigError, match="obs_dtype"):
        make("battle", obs_dtype="int32")
    with pytest.raises(ConfigError, match="view_radius"):
        make("battle", view_radius=0)
    with pytest.raises(ConfigError, match="map_size"):
        make("battle", map_size=4)


def test_duel_equals_magent2():
    """A duel stepped in magent2 (its C++ engine) and here: same positions, HP, rewards, end.

    No two actions conflict, so magent2's sequential order and our simultaneous one agree.
    """
    magent2 = pytest.importorskip("magent2")
    from magent2.environments.battle.battle import default_reward_args, get_config

    world = magent2.GridWorld(get_config(12, False, 0, **default_reward_args), map_size=12)
    world.reset()
    handles = world.get_handles()
    world.add_agents(handles[0], method="custom", pos=[[2, 5, 0]])
    world.add_agents(handles[1], method="custom", pos=[[8, 5, 0]])
    env = Battle(agents_per_side=1, map_size=12)
    state = BattleState(
        positions=jnp.asarray([[2, 5], [8, 5]], jnp.int32),
        hp=jnp.full((2,), MAX_HP, jnp.int32),
        alive=jnp.ones(2, bool),
        step=jnp.int32(0),
    )
    step = jax.jit(env.step)
    # approach (a jump of 2, then steps of 1); 1 runs into 0 (blocked); 0 moves into the cell
    # 1 leaves in the same step (blocked: magent2 moves team 0 first); then 0 hits 1 at
    # offset (-1, 1) six times while 1 swings at the air
    script = [(_move(2, 0), _move(-1, 0)), (_move(1, 0), NOOP), (_move(1, 0), _move(0, 1))]
    script += [(NOOP, _move(-1, -1)), (_move(1, 1), _move(-2, 0))]
    script += [(_attack(-1, 1), _attack(1, 1))] * 6
    for index, (first, second) in enumerate(script):
        world.set_action(handles[0], np.asarray([first], np.int32))
        world.set_action(handles[1], np.asarray([second], np.int32))
        magent_done = world.step()
        magent_rewards = [float(world.get_reward(handle)[0]) for handle in handles]
        magent_alive = [bool(world.get_alive(handle)[0]) for handle in handles]
        _, state, reward, done, _ = step(jax.random.key(index), state, jnp.asarray([first, second]))
        np.testing.assert_allclose(reward, magent_rewards, atol=1e-6)
        assert state.alive.tolist() == magent_alive and bool(done) == magent_done
        for agent, handle in enumerate(handles):
            if not magent_alive[agent]:
                continue
            np.testing.assert_array_equal(state.positions[agent], world.get_pos(handle)[0])
            view, _ = world.get_observation(handle)
            # magent2's view is [row = dy, column = dx, channel]; channel 2 is hp / 10
            assert int(state.hp[agent]) == round(float(view[0, 6, 6, 2]) * MAX_HP)
        world.clear_dead()
    assert bool(done)


def test_largest_team_for_a_map_is_exact():
    for map_size in (8, 16, 45, 160):
        most = max_agents_per_side(map_size)
        assert block_spacing(most, map_size) > 0 and block_spacing(most + 1, map_size) == 0
    assert max_agents_per_side(160) >= 1024 and max_agents_per_side(300) >= 5000
