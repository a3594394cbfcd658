"""Pure-JAX ports of POPGym's memory tasks (popgym 1.0.7), equal to it step for step.

Each is a team of one with popgym's Easy / Medium / Hard variants (`difficulty`); each
has a `reset_from(<popgym's random draws>)` so tests can replay popgym's episodes.
"""

from marlax.envs.popgym.autoencode import Autoencode
from marlax.envs.popgym.count_recall import CountRecall
from marlax.envs.popgym.repeat_first import RepeatFirst
from marlax.envs.popgym.repeat_previous import RepeatPrevious
from marlax.envs.popgym.stateless_cartpole import NoisyStatelessCartPole, StatelessCartPole

REFERENCE_CLASSES = {
    "popgym_repeat_previous": "RepeatPrevious",
    "popgym_repeat_first": "RepeatFirst",
    "popgym_count_recall": "CountRecall",
    "popgym_autoencode": "Autoencode",
    "popgym_stateless_cartpole": "PositionOnlyCartPole",
    "popgym_noisy_stateless_cartpole": "NoisyPositionOnlyCartPole",
}
"""Registry name -> the popgym 1.0.7 class (in `popgym.envs`) each port equals."""

__all__ = [
    "REFERENCE_CLASSES",
    "Autoencode",
    "CountRecall",
    "NoisyStatelessCartPole",
    "RepeatFirst",
    "RepeatPrevious",
    "StatelessCartPole",
]
