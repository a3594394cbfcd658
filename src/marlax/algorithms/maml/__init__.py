"""MAML with policy-gradient inner steps (Finn et al. 2017): `algorithm = "maml"`.

rollout.py (K episodes of one task, one scan), advantages.py (returns-to-go, rllab's linear
feature baseline, standardised advantages), meta.py (inner SGD step, adaptation, the outer
loss through it), trainer.py (tasks vmapped, seeds vmapped, Adam outer step), loop.py (the
host loop), policy.py (the meta-policy for enjoy/eval, loading a run), adaptation.py (return
after 0..k inner steps on a new task: what `marlax adapt` reports).

For PEARL (Rakelly et al. 2019, off-policy meta-RL) later: it reuses the task-family API
(`envs.meta`: `sample_task`, `reset_to_task`, `task_features` for checking a learned latent)
and `rollout.sample_trajectories` for collecting per-task context; it needs a permutation-
invariant context encoder (product of Gaussians over transitions -> task latent z), a
per-task replay (a task axis on `algorithms.common.replay`), and SAC from
`algorithms/off_policy` (`sac.py`: actor and critics taking [obs, z], the encoder trained by
the critic loss plus a KL term), with evaluation through `adaptation.py`'s shape of result
(return after 0, 1, ... context episodes instead of inner steps).
"""
