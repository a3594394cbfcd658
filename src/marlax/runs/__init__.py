"""Run folders and their contents: names, checkpoints, metrics, plots and videos.

Modules are imported by their full path (e.g. `marlax.runs.video`) so that optional
dependencies such as imageio load only when used.
"""
