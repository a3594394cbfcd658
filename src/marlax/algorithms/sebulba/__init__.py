"""Sebulba: PPO's learner fed by actors (threads, or Ray actors in their own processes on any
host of a Ray cluster) that step host (PettingZoo) envs.

See `trainer` for the actor-learner split, `actor` and `ray_actors` for the policy-lag bound,
and `marlax.envs.adapters.from_pettingzoo` for how host envs become fixed agent slots.
"""
