"""Mean-field subsample Q-learning (SUBSAMPLE-MFQ; Anand, Karmarkar, Qu, arXiv 2412.00661).

One global agent and n local agents. Q_k is learned over the global state and the counts c
of k sampled local agents; at deployment every local agent samples k-1 others and acts from
Q_k, and the global agent acts from its own k-sample.

Two semantics:
- `paper` (default): action (a_g, M), M a count matrix pairing local states with local
  actions (row sums c); each agent is rewarded and moved by its own (state, action), so
  k is conserved. Deployment: an agent takes an action paired with its own state in a
  maximal M (ties at random).
- `reference`: the published numpy implementation (emiletimothy/Mean-Field-Subsample-
  Q-Learning) reproduced exactly: action (a_g, d), d the local-action counts.

Python API:

    config = load_config("config.json")          # or parse_config(builtin_config_dict())
    results = run_meanfield(config, ks=(2, 3), seed=0, semantics="paper")
    loaded = load_q("out/q_k3.npz"); loaded.greedy_action(0, [1, 1, 1])
"""

from marlax.algorithms.meanfield_q.config import MeanFieldConfig, load_config, parse_config
from marlax.algorithms.meanfield_q.example import builtin_config_dict
from marlax.algorithms.meanfield_q.io import LoadedQ, load_q, save_q, write_results
from marlax.algorithms.meanfield_q.run import (
    KResult,
    TrainedQ,
    deploy_q,
    run_meanfield,
    train_q,
)
from marlax.algorithms.meanfield_q.tabulate import EnvTables, tabulate_environment

__all__ = [
    "EnvTables",
    "KResult",
    "LoadedQ",
    "MeanFieldConfig",
    "TrainedQ",
    "builtin_config_dict",
    "deploy_q",
    "load_config",
    "load_q",
    "parse_config",
    "run_meanfield",
    "save_q",
    "tabulate_environment",
    "train_q",
    "write_results",
]
