"""Pure-JAX ports of POPGym's memory tasks (popgym 1.0.7), equal to it step for step.

Each is a team of one with popgym's Easy / Medium / Hard variants (`difficulty`); each
has a `reset_from(<popgym's random draws>)` so tests can replay popgym's episodes.
"""

from marlax.envs.popgym.autoencode import Autoencode
from marlax.envs.popgym.count_recall import CountRecall
from marlax.envs.popgym.repeat_first import RepeatFirst
from marlax.envs.popgym.repeat_previous import RepeatPrevious
from marlax.envs.popgym.stateless_cartpole import NoisyStatelessCartPole, StatelessCartPole

__all__ = [
    "Autoencode",
    "CountRecall",
    "NoisyStatelessCartPole",
    "RepeatFirst",
    "RepeatPrevious",
    "StatelessCartPole",
]
