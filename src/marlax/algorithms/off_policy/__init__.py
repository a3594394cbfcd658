"""Off-policy actor-critic MARL: MADDPG (continuous or discrete actions) and per-agent SAC
(continuous actions).

    marlax train -c configs/sac_simple_spread.json
    marlax train -c configs/maddpg_discrete_simple_spread.json

`config.algorithm` picks the learner ("maddpg": deterministic shared actor, centralised
critic on every agent's observation and action, and on a Discrete-action env a categorical
actor trained through the Gumbel-softmax relaxation; "sac": tanh-Gaussian shared actor, twin
critics on the agent's own observation and action, learned temperature); `config.off_policy`
holds the rest. The parts: networks (actor, critics, agent ids, the [-1, 1] action box or
one-hot actions), gumbel (Gumbel-max samples and the relaxation), replay (flashbax
transitions with legal-action masks), targets (TD target, Polyak), maddpg and sac (the losses),
learn (gradient steps), rollout (envs that run on across updates), update, trainer (seeds as
a vmap axis, one jitted call per `run.log_every` updates), loop (run folder + the shared host
loop), policy (the deterministic actor for `marlax enjoy` / `marlax eval`).
"""
