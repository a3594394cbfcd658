"""Sebulba: PPO's learner fed by actor threads that step host (PettingZoo) envs.

See `trainer` for the actor-learner split, `actor` for the policy-lag bound, and
`marlax.envs.adapters.from_pettingzoo` for how host envs become fixed agent slots.
"""
