"""Pieces every learner shares: advantage estimation, the PPO loss terms, minibatch shuffling,
the policy protocol (`policy`) and the host training loop (`host_loop`: status, progress,
metric lines, checkpoint cadence, SIGINT/SIGTERM, resume)."""
