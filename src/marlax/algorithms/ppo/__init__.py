"""Proximal policy optimisation for multi-agent teams: IPPO and MAPPO, single- and multi-task.

`Trainer(config)` (in `trainer.py`) is the entry point; each step of an update is a module of
its own: `tasks` (padding several envs into one batch), `networks` (actor and critic),
`rollout`, `learn` (epochs and minibatches) and `update` (one whole PPO update).
"""
