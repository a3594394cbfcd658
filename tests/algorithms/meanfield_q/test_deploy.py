"""`deploy` against the published deployment loop, and why its return falls with n."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.meanfield_q import deploy_q, parse_config, tabulate_environment, train_q

from .helpers import STOCHASTIC_TRANSITION, small_config_dict
from .published_deployment import StepDraws, floyd, published_deployment


def _replayed_draws(key, num_agents, k, horizon, num_runs, num_global, num_local):
    """The draws `deploy` makes, from its key tree replayed: per run (g0, s0, [StepDraws])."""
    runs = []
    for run_key in jax.random.split(key, num_runs):
        init_key, scan_key = jax.random.split(run_key)
        global_key, local_key = jax.random.split(init_key)
        global_state = int(jax.random.randint(global_key, (), 0, num_global, dtype=jnp.int32))
        local_states = jax.random.randint(local_key, (num_agents,), 0, num_local, dtype=jnp.int32)
        steps = []
        for step_key in jax.random.split(scan_key, horizon):
            agents_key, global_key = jax.random.split(step_key)
            # rows: k-1 Floyd slots per agent, then transition, tie and pairing uniforms
            uniform = np.asarray(jax.random.uniform(agents_key, (k + 2, num_agents)))
            global_uniform = np.asarray(jax.random.uniform(global_key, (k + 2,)))

            def others(i, uniform=uniform):
                picks = floyd(uniform[: k - 1, i], num_agents - 1, k - 1)
                return [j + (j >= i) for j in picks]  # skip agent i itself

            steps.append(
                StepDraws(
                    others=others,
                    global_sample=floyd(global_uniform[:k], num_agents, k),
                    local_uniform=uniform[k - 1],
                    global_uniform=float(global_uniform[k + 1]),
                )
            )
        runs.append((global_state, np.asarray(local_states).tolist(), steps))
    return runs


@pytest.mark.parametrize("stochastic", [False, True])
def test_reference_deploy_equals_the_published_loop_on_the_same_draws(key, stochastic):
    raw = small_config_dict(num_local_agents=7, horizon=9, deployment_runs=3)
    if stochastic:
        raw["environment"]["functions"]["local_agent_transition"] = STOCHASTIC_TRANSITION
    config = parse_config(raw)
    env = tabulate_environment(config, seed=1)
    k = 3
    trained = train_q(jax.random.key(2), env, config, k, "reference")
    deploy_key = jax.random.key(11)
    curves = deploy_q(deploy_key, env, trained, config)
    replayed = _replayed_draws(deploy_key, 7, k, 9, 3, 5, 3)
    for curve, (global_state, local_states, steps) in zip(curves, replayed, strict=True):
        trace = published_deployment(env, trained.q, k, 0.9, global_state, local_states, steps)
        np.testing.assert_allclose(curve, trace.cumulative, rtol=2e-6)
    # the draws matter: the three runs differ
    assert len({round(float(curve[-1]), 4) for curve in curves}) == 3


def _published_runs(env, q, k, num_agents, num_runs, horizon, seed):
    """Runs of the published loop with its own sampling (numpy choice without replacement)."""
    rng = np.random.default_rng(seed)
    traces = []
    for _ in range(num_runs):
        global_state = int(rng.integers(env.global_reward.shape[0]))
        local_states = rng.integers(env.local_reward.shape[0], size=num_agents).tolist()
        steps = []
        for _ in range(horizon):

            def others(i, rng=rng):
                picks = rng.choice(num_agents - 1, k - 1, replace=False)
                return (picks + (picks >= i)).tolist()

            global_sample = rng.choice(num_agents, k, replace=False).tolist()
            steps.append(StepDraws(others, global_sample, rng.random(num_agents), rng.random()))
        traces.append(published_deployment(env, q, k, 0.9, global_state, local_states, steps))
    return traces


def test_reference_return_falls_with_n_because_samples_keep_minority_states():
    """BENCHMARKS.md: with reference semantics, k = 8 returns less at large n (not a bug).

    Each agent acts on the most common action of the greedy d for its sample's counts,
    whatever its own state. At n = 14 every run locks in (all agents in one state, every
    sample pure); at larger n some agents keep landing in minority states, the samples
    that include them pick actions that are wrong for most agents, and the lock-in breaks.
    """
    config = parse_config(small_config_dict(num_local_agents=14, training_steps=100))
    env = tabulate_environment(config)
    q = train_q(jax.random.key(0), env, config, 8, "reference").q
    mixed, returns = {}, {}
    for n in (14, 200):
        traces = _published_runs(env, q, 8, n, num_runs=16, horizon=30, seed=0)
        # after a 10-step transient: the share of agents whose sample holds a minority state
        mixed[n] = np.array([np.mean(trace.mixed_fraction[10:]) for trace in traces])
        returns[n] = np.array([trace.cumulative[-1] for trace in traces])
    assert np.all(mixed[14] == 0.0)  # every small-population run locks in
    assert mixed[200].mean() > 0.05 and np.mean(mixed[200] > 0) >= 0.25
    assert returns[200].mean() < returns[14].mean() - 0.5
    # the runs that never lock in are the ones that lose reward
    unlocked = mixed[200] > 0
    assert returns[200][unlocked].mean() < returns[200][~unlocked].mean() - 1.0
