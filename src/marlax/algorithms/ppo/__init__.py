"""Proximal policy optimisation for multi-agent teams: IPPO and MAPPO, single- and multi-task.

`Trainer(config)` (in `trainer.py`) is the entry point; each step of an update is a module of
its own: `tasks` (padding several envs into one batch), `networks` (actor and critic),
`rollout`, `learn` (epochs and minibatches) and `update` (one whole PPO update: `collect`,
then `improve`). Around the trainer: `loop` (the run: trainer + the shared host loop),
`restore` (the latest checkpoint -> trainer + state) and `policy` (the trained actor as a
`MemoryPolicy` for `marlax enjoy`).
"""
