"""Learners: PPO, mean-field subsample Q-learning, meta-learning and population methods."""
