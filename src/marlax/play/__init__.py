"""Watching and playing environments: random rollouts, recorded videos, the pygame window.

Modules: `policy` (random legal actions, the controlled agent's action; the policy protocol
itself is `marlax.algorithms.common.policy`), `record` (scanned rollouts rendered in a vmap),
`session` (a played episode on the host), `keymap` (keys to each env's action ids), `window`
(pygame, imported only when a window is opened), `settings` (`--set`).
"""
