"""VariBAD (Zintgraf et al. 2020): PPO on the observation and a learned Gaussian belief.

A config asks for it with `"algorithm": "varibad"` and the `varibad` section
(`marlax.config.varibad`): belief.py (Gaussian KL and sampling), networks.py (encoder,
decoders, actor, critic), rollout.py (whole trials acting on the running belief), elbo.py
(the VAE's loss), update.py (PPO then the VAE's steps), trainer.py, loop.py, policy.py
(`marlax enjoy` / `marlax eval`: the encoder state is the policy's memory).
"""
