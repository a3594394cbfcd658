"""Keyboard bindings of `marlax play`: pygame key names -> each env's own action ids.

Key names are pygame's (`pygame.key.name(event.key)`: "up", "space", "d"), so this
module needs no pygame. Grid worlds use `marlax.envs.grid.tiles.Action`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marlax.envs.base import Env
from marlax.envs.grid.tiles import Action
from marlax.envs.spaces import Discrete, num_actions


@dataclass(frozen=True)
class KeyMap:
    """Which action the controlled agent takes for the keys pressed this frame."""

    bindings: tuple[tuple[str, int], ...]
    """(pygame key name, action id) pairs."""
    default: int
    """Action id when no bound key is pressed (stay / no-op / no-match)."""

    def action_for(self, key_names: Sequence[str]) -> int:
        """The action of the last bound key in `key_names` (pressed order), else `default`."""
        bound = dict(self.bindings)
        for name in reversed(key_names):
            if name in bound:
                return bound[name]
        return self.default

    def describe(self) -> str:
        """One line for the terminal, e.g. "up=0 right=1 ... (no key: 4)"."""
        keys = " ".join(f"{name}={action}" for name, action in self.bindings)
        return f"{keys} (no key: {self.default})"

    def restricted_to(self, count: int) -> KeyMap:
        """Drop bindings to action ids >= `count` (an env variant with fewer actions)."""
        bindings = tuple((name, action) for name, action in self.bindings if action < count)
        return KeyMap(bindings, self.default if self.default < count else 0)


GRID_KEYMAP = KeyMap(
    bindings=(
        ("up", int(Action.UP)),
        ("right", int(Action.RIGHT)),
        ("down", int(Action.DOWN)),
        ("left", int(Action.LEFT)),
        ("space", int(Action.ATTACK)),
        ("d", int(Action.DIG)),
    ),
    default=int(Action.STAY),
)

KEYMAPS: dict[str, KeyMap] = {
    "grid_return": GRID_KEYMAP,
    "scouts": GRID_KEYMAP,
    "traveling_salesman": GRID_KEYMAP,
    "king_of_the_hill": GRID_KEYMAP,
    # 0 no-match, 1 match
    "nback": KeyMap((("n", 0), ("m", 1)), default=0),
    # mpe2 order: 0 no-op, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y)
    "simple_spread": KeyMap((("left", 1), ("right", 2), ("down", 3), ("up", 4)), default=0),
    "coverage": KeyMap((("left", 1), ("right", 2), ("down", 3), ("up", 4)), default=0),
    # magent2's ids: 6 stay, 2/10/5/7 one cell up/down/left/right on screen, 13-20 attacks
    "battle": KeyMap(
        (
            ("up", 10),
            ("right", 7),
            ("down", 2),
            ("left", 5),
            ("w", 19),
            ("d", 17),
            ("s", 14),
            ("a", 16),
        ),
        default=6,
    ),
    # 0 wait, 1 left, 2 right, 3 up (y+1), 4 down
    "energy_flow": KeyMap((("left", 1), ("right", 2), ("up", 3), ("down", 4)), default=0),
}


def keymap_for(name: str, env: Env) -> KeyMap:
    """The env's key map; for an unlisted env, the grid keys if it looks like a grid world
    (egocentric grid observations and at least the 5 move/stay actions), else digits 0-9
    as action ids (no key: 0)."""
    from marlax.play.session import has_grid_view

    count = num_actions(env.action_space)
    if name in KEYMAPS:
        return KEYMAPS[name].restricted_to(count)
    if has_grid_view(env) and isinstance(env.action_space, Discrete) and count > Action.STAY:
        return GRID_KEYMAP.restricted_to(count)
    return KeyMap(tuple((str(action), action) for action in range(min(count, 10))), default=0)
