"""Value-based MARL: IQL, VDN, QMIX and MF-Q (recurrent agent Q-networks, episode replay).

    marlax train -c configs/qmix_simple_spread.json

`config.algorithm` picks how the agents' Q-values combine ("iql": not at all, "vdn": a sum,
"qmix": a monotonic mixer on the global state); "mfq" (Yang et al. 2018) is IQL whose env is
a `MeanFieldEnv` (`model.mean_field`: {} the whole team by default, {"radius": r} a
neighbourhood), so each agent's Q reads its neighbours' mean previous action from its
observation. `config.q_learning` holds the rest. The parts:
inputs (agent ids), explore (epsilon-greedy under action masks), mixers, targets (double-Q
TD targets and losses), replay (flashbax), rollout (episode chunks), update, trainer (seeds as a
vmap axis, one jitted call per `run.log_every` updates), loop (run folder + the shared host
loop), policy (the greedy actor for `marlax enjoy` / `marlax eval`).
"""
