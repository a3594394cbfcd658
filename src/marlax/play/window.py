"""The pygame window of `marlax play`: the env's picture scaled to fit, keys drive one agent.

pygame is imported here only, when a window opens; without the `[play]` extra the
import becomes a ConfigError naming it.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from marlax.envs.base import Env
from marlax.errors import ConfigError
from marlax.play.keymap import KeyMap
from marlax.play.session import PlaySession

MAX_WINDOW_PX = 720
"""The map is scaled so its longer side is about this many pixels."""
PANEL_GAP_PX = 8


def import_pygame() -> Any:
    """pygame, or a ConfigError that names the extra to install."""
    try:
        import pygame
    except ImportError as error:
        raise ConfigError(
            "window", "pygame", "the [play] extra: pip install 'marlax[play]' (or pass --random)"
        ) from error
    return pygame


def run_window(
    env: Env,
    key: jax.Array,
    keymap: KeyMap,
    *,
    pov: int = 0,
    fps: float = 8.0,
    num_steps: int | None = None,
    title: str = "marlax",
) -> tuple[PlaySession, list[np.ndarray]]:
    """Play in a window until it closes (Esc / close button) or `num_steps` steps are done.

    Each frame reads the keys pressed since the last one (held keys count too) and
    steps the env once: the last bound key picks the controlled agent's action,
    no key picks `keymap.default`.

    Returns:
        The session (final state, episode returns) and the frames shown, u8[H, W, 3] each
        (the first frame, then one per step).
    """
    session = PlaySession(env, key, pov=pov)
    caption = f"{title} - you are agent {pov} - {keymap.describe()} - Esc quits"
    frames = run_session_window(session, keymap, caption=caption, fps=fps, num_steps=num_steps)
    return session, frames


def run_session_window(
    session: PlaySession,
    keymap: KeyMap,
    *,
    caption: str,
    fps: float,
    human: bool = True,
    num_steps: int | None = None,
    num_episodes: int | None = None,
) -> list[np.ndarray]:
    """Step `session` once per frame in a pygame window until Esc / close, `num_steps` steps,
    or `num_episodes` finished episodes.

    With `human`, the keys pressed pick the controlled agent's action (`keymap`); without,
    keys are ignored but Esc and the close button still quit.

    Returns:
        The frames shown, u8[H, W, 3] each: the first, then one per step.
    """
    pygame = import_pygame()
    pygame.display.init()  # only the display: no audio device is needed
    scale = MAX_WINDOW_PX / max(session.frame.shape[:2])
    screen = pygame.display.set_mode(_window_size(session, scale))
    pygame.display.set_caption(caption)
    clock = pygame.time.Clock()
    frames = [session.frame]
    _draw(pygame, screen, session, scale)
    steps = 0
    while (num_steps is None or steps < num_steps) and (
        num_episodes is None or len(session.episodes) < num_episodes
    ):
        pressed, quit_requested = _read_keys(pygame, keymap)
        if quit_requested:
            break
        session.step(keymap.action_for(pressed) if human else keymap.default)
        frames.append(session.frame)
        _draw(pygame, screen, session, scale)
        steps += 1
        clock.tick(fps)
    pygame.display.quit()
    return frames


def _read_keys(pygame: Any, keymap: KeyMap) -> tuple[list[str], bool]:
    """Key names pressed since the last frame (then those held), and whether to quit."""
    pressed: list[str] = []
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            return pressed, True
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                return pressed, True
            pressed.append(pygame.key.name(event.key))
    if not pressed:
        held = pygame.key.get_pressed()
        pressed = [name for name, _ in keymap.bindings if held[pygame.key.key_code(name)]]
    return pressed, False


def _window_size(session: PlaySession, scale: float) -> tuple[int, int]:
    height, width = session.frame.shape[:2]
    size = [round(width * scale), round(height * scale)]
    if session.pov_view is not None:
        size[0] += PANEL_GAP_PX + round(session.pov_view.shape[1] * scale)
    return size[0], size[1]


def _draw(pygame: Any, screen: Any, session: PlaySession, scale: float) -> None:
    """Blit the scaled map and, beside it, the controlled agent's view."""
    screen.fill((30, 30, 30))
    screen.blit(_surface(pygame, session.frame, scale), (0, 0))
    if session.pov_view is not None:
        left = round(session.frame.shape[1] * scale) + PANEL_GAP_PX
        screen.blit(_surface(pygame, session.pov_view, scale), (left, 0))
    pygame.display.flip()


def _surface(pygame: Any, image: np.ndarray, scale: float) -> Any:
    """A pygame surface of u8[H, W, 3] scaled by `scale` (pygame wants [W, H, 3])."""
    surface = pygame.surfarray.make_surface(np.ascontiguousarray(image.transpose(1, 0, 2)))
    height, width = image.shape[:2]
    return pygame.transform.scale(surface, (round(width * scale), round(height * scale)))
