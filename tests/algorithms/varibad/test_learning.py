"""Slow tier: VariBAD on navigation_2d trials does better in later episodes of a trial.

Measured (benchmarks/varibad_vs_rl2.py: 20-step episodes, k = 3, 256 held-out goals):
improvement (mean of episodes 2..3 minus episode 1) 0.99 (0.73..1.25) over 2 seeds at 0.5M
env steps, 0.99 (0.33..1.69) over 3 seeds at 1M; RL² (GRU) 1.30 and 1.62 at the same steps.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from marlax.algorithms.rl2.trials import held_out_tasks, jitted_trial_episode_returns
from marlax.algorithms.varibad.policy import VariBADPolicy
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.config import load_config

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_varibad_later_episodes_of_a_trial_beat_the_first():
    overrides = [
        'env.params={"max_steps": 20}',
        "varibad.episodes_per_trial=3",
        "ppo.total_env_steps=500000",
    ]
    config = load_config(ROOT / "configs" / "varibad_navigation.json", overrides)
    trainer = VariBADTrainer(config)
    state, _ = trainer.update(trainer.init(jax.random.key(config.run.seed)), trainer.num_updates)
    policy = VariBADPolicy(
        actor_params=jax.tree.map(lambda leaf: leaf[0], state.policy_params["actor"]),
        vae_params=jax.tree.map(lambda leaf: leaf[0], state.vae_params),
        networks=trainer.networks,
        num_agents=1,
        sample=True,
    )
    env = trainer.trial_env
    tasks = held_out_tasks(jax.random.key(10_000), env, 256)
    returns = np.asarray(
        jitted_trial_episode_returns(jax.random.key(10_001), env=env, policy=policy, tasks=tasks)
    ).mean(axis=0)  # f32[3]: mean return of episode 1, 2, 3
    # measured 0.73 and 1.25 for the two seeds at this budget: a margin below the lower one
    assert returns[1:].mean() - returns[0] > 0.3, returns
