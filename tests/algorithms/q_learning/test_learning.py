"""VDN and QMIX learn simple_spread: greedy returns beat a uniform-random policy by a margin.

Measured (1 seed each, 2 shared CPU cores, 256 greedy episodes, `marlax eval`): VDN with the
shipped simple_spread settings at 0.3M env steps -20.1 [-20.7, -19.5]; at 1M steps VDN -16.5,
QMIX -15.4, IQL -18.5. A uniform-random policy scores -26.5 (BENCHMARKS.md). The margin
asked here, 4 above random at 0.3M steps, is under the measured 6.4.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from marlax.algorithms.q_learning.policy import QPolicy
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.config import load_from_dict
from marlax.config.load import read_json
from marlax.evaluation.episodes import jitted_run_episodes
from tests.test_configs import CONFIG_DIR

RANDOM_RETURN = -26.48
MARGIN = 4.0


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["vdn", "qmix"])
def test_value_decomposition_beats_random_on_simple_spread(algorithm):
    raw = read_json(CONFIG_DIR / f"{algorithm}_simple_spread.json")
    raw["q_learning"]["total_env_steps"] = 300_000
    config = load_from_dict(json.loads(json.dumps(raw)))
    trainer = QTrainer(config)
    state, _ = trainer.update(trainer.init(jax.random.key(0)), trainer.num_updates)
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    policy = QPolicy(params, trainer.setup.networks, trainer.setup.env)
    results = jitted_run_episodes(
        jax.random.key(1), env=trainer.setup.env, policy=policy, num_episodes=256
    )
    team_return = float(np.asarray(results.returns).mean())
    assert team_return > RANDOM_RETURN + MARGIN, team_return
