"""Evolution strategies (evosax) on policy parameters: `algorithm = "es"`.

strategies.py (the evosax strategy of an `es` section), generation.py (ask, evaluate, tell),
episodes.py (a parameter vector's mean team return over whole episodes), trainer.py (seeds as
a vmap axis, jitted generations), loop.py (the host loop), policy.py (the trained policy).
"""
