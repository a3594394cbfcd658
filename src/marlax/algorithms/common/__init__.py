"""Pieces every on-policy learner shares: advantage estimation and the PPO loss terms."""
