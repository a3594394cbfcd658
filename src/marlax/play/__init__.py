"""Watching and playing environments: random rollouts, recorded videos, the pygame window.

Modules: `policy` (random legal actions, the controlled agent's action), `record`
(scanned rollouts rendered in a vmap), `keymap` (keys to each env's action ids),
`window` (pygame, imported only when a window is opened), `settings` (`--set`).
"""
