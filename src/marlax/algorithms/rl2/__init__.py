"""RL² (Duan et al. 2016): PPO with a recurrent policy on trials of k episodes of one task.

A config asks for it with `"algorithm": "rl2"` and `episodes_per_trial` on each task
(`{"env": {"name": "bandit_k", "episodes_per_trial": 4}}`); `TaskConfig.make_env` wraps the
family in `TrialEnv`, PPO (section `ppo`) trains on it, and `trials.trial_episode_returns`
plays held-out tasks to show the return of each episode of a trial.
"""
