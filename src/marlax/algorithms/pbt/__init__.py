"""Population-based training over PPO's hyperparameters on the seed axis (`algorithm = "pbt"`)."""
