"""Value-based MARL: IQL, VDN and QMIX (recurrent agent Q-networks, episode replay).

    marlax train -c configs/qmix_simple_spread.json

`config.algorithm` picks how the agents' Q-values combine ("iql": not at all, "vdn": a sum,
"qmix": a monotonic mixer on the global state); `config.q_learning` holds the rest. The parts:
inputs (agent ids), explore (epsilon-greedy under action masks), mixers, targets (double-Q
TD targets and losses), replay (flashbax), rollout (episode chunks), update, trainer (seeds as a
vmap axis, one jitted call per `run.log_every` updates), loop (run folder + the shared host
loop), policy (the greedy actor for `marlax enjoy` / `marlax eval`).
"""
