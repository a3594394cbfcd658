"""from_gymnax: single-agent gymnax envs as marlax teams of one, checked against gymnax itself.

The auto-reset rule under test: `AutoReset(from_gymnax(name)).step(key, ...)` equals gymnax's
own `step(key, ...)` on the same key and action, across episode ends: the same observation (the
new episode's after an end), reward, done and terminated; marlax's `truncated` is gymnax's
`truncated and not terminated`, and `info["final_obs"]` is gymnax's `final_observation`.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import AutoReset, make
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from tests.envs import test_conformance as conformance

gymnax = pytest.importorskip("gymnax")

from marlax.envs.adapters import from_gymnax  # noqa: E402

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("envs.test_gymnax_adapter")

# short episodes, so that 48 steps cross several episode ends in each env
CASES = {
    "MemoryChain-bsuite": {"memory_length": 3},  # terminates after 4 steps
    "MetaMaze-misc": {"maze_size": 5, "max_steps": 9},  # a constructor argument and the limit
    "PointRobot-misc": {"goal_radius": 0.6, "max_steps": 7},  # goals reached: keyed re-sampling
    "CartPole-v1": {"max_steps": 15},  # pole falls (termination) or time limit
}
NUM_STEPS = 48


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    name = request.param
    return name, from_gymnax(name, **CASES[name])


def _random_actions(env, key: jax.Array, num_steps: int) -> jax.Array:
    """i32[T, 1] or f32[T, 1, A]; continuous ones overshoot the box, so clipping is exercised."""
    space = env.action_space
    if isinstance(space, Discrete):
        return jax.random.randint(key, (num_steps, 1), 0, space.n)
    return 1.5 * space.sample(key, (num_steps, 1))


@functools.partial(jax.jit, static_argnums=0)
def _marlax_trajectory(env, key, actions):
    """AutoReset(env) stepped on split(key)[i] and actions[i]: stacked outputs."""
    wrapped = AutoReset(env)
    reset_key, loop_key = jax.random.split(key)
    obs, state = wrapped.reset(reset_key)

    def _body(state, inputs):
        step_key, action = inputs
        obs, state, reward, done, info = wrapped.step(step_key, state, action)
        flags = (done, info["terminated"], info["truncated"])
        return state, (obs[0], reward[0], *flags, info["final_obs"][0])

    step_keys = jax.random.split(loop_key, actions.shape[0])
    return obs[0], jax.lax.scan(_body, state, (step_keys, actions))[1]


@functools.partial(jax.jit, static_argnums=0)
def _gymnax_trajectory(gymnax_env, params, key, actions):
    """gymnax's own `reset` and auto-resetting `step` on the same keys and actions (its
    EnvParams traced, as gymnax users pass them; the adapter bakes them in as constants)."""
    reset_key, loop_key = jax.random.split(key)
    obs, state = gymnax_env.reset(reset_key, params)

    def _body(state, inputs):
        step_key, action = inputs
        obs, state, reward, terminated, truncated, info = gymnax_env.step(
            step_key, state, action[0], params
        )
        done = terminated | truncated
        return state, (obs, reward, done, terminated, truncated, info["final_observation"])

    step_keys = jax.random.split(loop_key, actions.shape[0])
    return obs, jax.lax.scan(_body, state, (step_keys, actions))[1]


def test_steps_equal_gymnax_across_episode_ends(case, key):
    name, env = case
    gymnax_env = env.gymnax_env
    actions = _random_actions(env, jax.random.key(7), NUM_STEPS)
    obs, steps = _marlax_trajectory(env, key, actions)
    ref_obs, ref_steps = _gymnax_trajectory(gymnax_env, env.env_params, key, actions)
    np.testing.assert_allclose(obs, ref_obs, atol=1e-6)
    step_obs, reward, done, terminated, truncated, final_obs = steps
    ref_obs, ref_reward, ref_done, ref_terminated, ref_truncated, ref_final = ref_steps
    np.testing.assert_allclose(step_obs, ref_obs.reshape(step_obs.shape), atol=1e-5)
    np.testing.assert_allclose(final_obs, ref_final.reshape(final_obs.shape), atol=1e-5)
    np.testing.assert_allclose(reward, ref_reward, atol=1e-6)
    np.testing.assert_array_equal(done, ref_done)
    np.testing.assert_array_equal(terminated, ref_terminated)
    np.testing.assert_array_equal(truncated, ref_truncated & ~ref_terminated)
    assert int(done.sum()) >= 2, f"{name}: fewer than two episode ends in {NUM_STEPS} steps"


def test_episode_ends_are_the_envs_own(key):
    """MemoryChain terminates after memory_length + 1 steps; PointRobot only truncates.

    Same envs and shapes as the cases above, so the compiled trajectories are reused."""
    memory = from_gymnax("MemoryChain-bsuite", **CASES["MemoryChain-bsuite"])
    _, (_, reward, done, terminated, truncated, _) = _marlax_trajectory(
        memory, key, jnp.zeros((NUM_STEPS, 1), jnp.int32)
    )
    np.testing.assert_array_equal(np.flatnonzero(done), np.arange(3, NUM_STEPS, 4))
    assert bool(jnp.all(terminated == done)) and not bool(truncated.any())
    # rewarded (+1 or -1) only on the query step, the one that terminates
    np.testing.assert_array_equal(np.abs(reward), done.astype(np.float32))
    robot = from_gymnax("PointRobot-misc", **CASES["PointRobot-misc"])
    _, (*_, done, terminated, truncated, _) = _marlax_trajectory(
        robot, key, jnp.zeros((NUM_STEPS, 1, 2), jnp.float32)
    )
    np.testing.assert_array_equal(np.flatnonzero(truncated), np.arange(6, NUM_STEPS, 7))
    assert not bool(terminated.any())


def test_step_alone_does_not_reset(key):
    """Without AutoReset the adapter never resets: gymnax's step_env, the wrappers decide."""
    env = from_gymnax("MemoryChain-bsuite", memory_length=2)
    _, state = env.reset(key)
    step = jax.jit(env.step)
    for _ in range(3):
        _, state, _, done, _ = step(key, state, jnp.zeros(1, jnp.int32))
    assert bool(done) and int(state.step) == 3 and int(state.env_state.time) == 3


def test_spaces_match_gymnax(case):
    name, env = case
    params = env.env_params
    ref_obs_space = env.gymnax_env.observation_space(params)
    ref_action_space = env.gymnax_env.action_space(params)
    assert env.num_agents == 1
    assert env.observation_space.shape == tuple(ref_obs_space.shape)
    if hasattr(ref_action_space, "n"):
        assert env.action_space == Discrete(ref_action_space.n)
    else:
        assert isinstance(env.action_space, Box)
        assert env.action_space.shape == tuple(ref_action_space.shape)
        np.testing.assert_allclose(env.action_space.low, ref_action_space.low)
        np.testing.assert_allclose(env.action_space.high, ref_action_space.high)
    assert env.max_steps == params.max_steps_in_episode


# marlax's conformance checks that take any env (the rest build envs by registry name;
# same-key determinism is pinned by the gymnax equality above)
CONFORMANCE_CHECKS = [
    conformance.test_reset_outputs_lie_in_spaces,
    conformance.test_step_outputs_have_api_shapes,
    conformance.test_step_keeps_state_types,
    conformance.test_jit_equals_no_jit,
    conformance.test_vmap_equals_loop,
    conformance.test_render_is_rgb_image,
    conformance.test_global_state_is_flat_float,
]


@pytest.mark.parametrize("name", ["MemoryChain-bsuite", "PointRobot-misc"])
def test_passes_marlax_conformance(name, key):
    env = from_gymnax(name)
    for check in CONFORMANCE_CHECKS:
        check(env, key)
    if isinstance(env.action_space, Discrete):
        conformance.test_action_mask_shape_and_legality(env, key)


def test_render_draws_the_last_observation(key):
    env = from_gymnax("MemoryChain-bsuite")
    obs, state = env.reset(key)
    image = np.asarray(jax.jit(env.render)(state))
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    # obs = [time left 1, query 0, context +-1]: bar 0 up (green), bar 2 up or down
    np.testing.assert_array_equal(obs[0, :2], [1.0, 0.0])
    np.testing.assert_array_equal(image[100, 42], [40, 170, 60])
    context_pixel = image[100 if float(obs[0, 2]) > 0 else 160, 213]
    np.testing.assert_array_equal(context_pixel, [40, 170, 60] if obs[0, 2] > 0 else [210, 50, 50])


def test_settings_are_static_and_hashable():
    env = from_gymnax("MemoryChain-bsuite", memory_length=3, num_bits=2)
    assert env.env_params.memory_length == 3 and env.gymnax_env.num_bits == 2
    assert env.observation_space.shape == (4,)
    again = make("gymnax:MemoryChain-bsuite", num_bits=2, memory_length=3)
    assert again == env and hash(again) == hash(env)
    assert from_gymnax("MemoryChain-bsuite", memory_length=4) != env
    assert from_gymnax("MetaMaze-misc", max_steps=9) == from_gymnax(
        "MetaMaze-misc", max_steps_in_episode=9
    )
    acrobot = from_gymnax("Acrobot-v1", available_torque=[-2.0, 0.0, 2.0])
    assert hash(acrobot) == hash(from_gymnax("Acrobot-v1", available_torque=(-2.0, 0.0, 2.0)))
    np.testing.assert_array_equal(acrobot.env_params.available_torque, [-2.0, 0.0, 2.0])


@pytest.mark.parametrize(
    ("name", "settings", "field", "expected"),
    [
        ("MemoryChan-bsuite", {}, "name", "did you mean 'MemoryChain-bsuite'"),
        ("MemoryChain-bsuite", {"memory_lenght": 5}, "memory_lenght", "memory_length"),
        ("MemoryChain-bsuite", {"memory_length": 2.5}, "memory_length", "integer"),
        ("MetaMaze-misc", {"normalize_time": 1}, "normalize_time", "true or false"),
        ("MetaMaze-misc", {"maze_size": 4}, "maze_size", "MetaMaze-misc's constructor accepts"),
        ("CartPole-v1", {"max_steps": -1}, "max_steps_in_episode", ">= 1"),
        ("CartPole-v1", {"max_steps": 5, "max_steps_in_episode": 5}, "max_steps", "not both"),
        ("Acrobot-v1", {"available_torque": [1.0]}, "available_torque", "shape (3,)"),
    ],
)
def test_bad_input_is_a_config_error(name, settings, field, expected):
    with pytest.raises(ConfigError) as raised:
        from_gymnax(name, **settings)
    assert raised.value.field == field and expected in raised.value.expected
    if field == "name":
        assert raised.value.value == name and "MetaMaze-misc" in raised.value.expected


def test_unknown_name_in_a_config_names_the_value():
    from marlax.config.load import load_from_dict

    with pytest.raises(ConfigError, match="MemoryChan-bsuite.*MemoryChain-bsuite"):
        load_from_dict({"env": {"name": "gymnax:MemoryChan-bsuite"}})


def test_missing_gymnax_asks_for_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnax", None)  # `import gymnax` raises ImportError
    with pytest.raises(ConfigError, match=r"pip install"):
        make("gymnax:MemoryChain-bsuite")


PPO_SMOKE = {
    "env": {"name": "gymnax:MemoryChain-bsuite", "num_envs": 8, "params": {"memory_length": 3}},
    "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
    "ppo": {"total_env_steps": 8 * 16 * 3, "rollout_length": 16, "num_minibatches": 2},
    "run": {"log_every": 1, "checkpoint_every": 3},
}
SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "gymnax_memorychain.json"
RETURN = "return/gymnax:MemoryChain-bsuite"


def _train(tmp_path: Path, config: Path, *settings: str) -> list[dict]:
    """`marlax train --config config --set ...` into tmp_path/runs; the run's metric rows."""
    import typer
    from typer.testing import CliRunner

    from marlax.cli import train as train_cli
    from marlax.runs.metrics import read_metrics

    app = typer.Typer()
    train_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `train` a subcommand
    runs_dir = tmp_path / "runs"
    overrides = [item for setting in settings for item in ("--set", setting)]
    result = CliRunner().invoke(
        app, ["train", "--config", str(config), "--runs-dir", str(runs_dir), *overrides]
    )
    assert result.exit_code == 0, result.output
    (folder,) = runs_dir.iterdir()
    return read_metrics(folder / "metrics.jsonl")


def test_ppo_trains_from_a_config(tmp_path):
    """`marlax train` on "gymnax:MemoryChain-bsuite": 3 updates of 128 env steps, episodes
    of 4 steps end in every rollout, each returning +1 or -1."""
    config = tmp_path / "gymnax.json"
    config.write_text(json.dumps(PPO_SMOKE))
    rows = _train(tmp_path, config)
    assert [row["env_steps"] for row in rows] == [128, 256, 384]
    assert all(row["length/gymnax:MemoryChain-bsuite"] == 4.0 for row in rows)
    returns = [row[RETURN] for row in rows]
    assert all(math.isfinite(value) and -1.0 <= value <= 1.0 for value in returns), returns


@pytest.mark.slow
@pytest.mark.parametrize(("model", "low", "high"), [("gru", 0.8, 1.0), ("mlp", -0.3, 0.3)])
def test_memory_chain_needs_memory(tmp_path, model, low, high):
    """MemoryChain, memory length 5: the context is shown only at the start and asked for 5
    steps later (+1 right, -1 wrong, so a random or memoryless policy returns 0 on average).
    Measured on 2 shared CPU cores with the shipped config: GRU 0.96 after 22.5k env steps
    and 1.00 from 43k on; MLP between -0.07 and +0.06 over 205k. Here: 61,440 env steps."""
    settings = ["ppo.total_env_steps=61440", "run.log_every=5"]
    if model == "mlp":
        settings += ["model.name=mlp", "model.core={}"]
    rows = _train(tmp_path, SHIPPED_CONFIG, *settings)
    final = sum(row[RETURN] for row in rows[-3:]) / 3
    assert low <= final <= high, [row[RETURN] for row in rows]
