"""Run folders and their contents: names, checkpoints, metrics, plots, videos, status.

Storage only, the same for every learner: this package imports no learner code. Learners
write here through the shared host loop (`algorithms/common/host_loop.py`).
Modules are imported by their full path (e.g. `marlax.runs.video`) so that optional
dependencies such as imageio load only when used.
"""
