"""How the Ray backend cuts an `update(state, n)` call into rounds, and the metrics of a call.

    round_sizes(updates_done=3, num_updates=7, interval=4)   # [1, 4, 2]: rounds end at 4 and 8
    metrics = call_metrics(member_metrics, pbt_columns)         # f32[S, U] each, as in-graph

A round ends at an exploit boundary (a multiple of `pbt.interval`) or at the end of the call,
so any call size works: with `run.log_every` a multiple of `pbt.interval` every round is one
whole interval; otherwise a round stops where the call stops and the next call finishes the
interval (the interval's sums carry over in the driver's record, as they do in-graph).
Each round length compiles once per member.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from marlax.algorithms.pbt.ray_record import PopulationRecord
from marlax.algorithms.pbt.types import HYPERPARAMETERS
from marlax.validate import require_nonnegative_int, require_positive_int


def round_sizes(updates_done: int, num_updates: int, interval: int) -> list[int]:
    """The rounds of one call: each ends at the next multiple of `interval` or at the call's end."""
    done = require_nonnegative_int("updates_done", updates_done)
    end = done + require_positive_int("num_updates", num_updates)
    require_positive_int("pbt.interval", interval)
    sizes = []
    while done < end:
        boundary = (done // interval + 1) * interval
        sizes.append(min(boundary, end) - done)
        done += sizes[-1]
    return sizes


def round_pbt_columns(
    before: PopulationRecord, after: PopulationRecord, size: int, exploited: bool
) -> dict[str, np.ndarray]:
    """`pbt/*` metrics f32[S, size] of a round, as `PBTTrainer.update` reports them: each
    update's values after its exploit step (only the round's last update can have one).

    Args:
        before: the record the round started from.
        after: the record after the round (and after its exploit step, if it made one).
        size: updates in the round.
        exploited: the round ended at an interval boundary, where `after` made its exploit step.
    """
    members = len(before.fitness)
    last = np.zeros((size,), bool)
    last[-1] = exploited

    def _column(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        old, new = np.asarray(old, np.float32), np.asarray(new, np.float32)
        return np.where(last[None, :], new[:, None], old[:, None])

    columns = {
        "pbt/exploited": np.broadcast_to(last, (members, size)).astype(np.float32),
        "pbt/copied_from": _column(np.arange(members), after.source),
        "pbt/fitness": _column(before.fitness, after.fitness),
    }
    for name in HYPERPARAMETERS:
        old, new = getattr(before.hyperparams, name), getattr(after.hyperparams, name)
        columns[f"pbt/{name}"] = _column(old, new)
    return columns


def stack_members(results: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Each member's f32[U] metrics stacked into f32[S, U] (member order)."""
    names = [name for name in results[0] if name != "params_finite"]
    return {name: np.stack([result[name] for result in results]) for name in names}


def join_rounds(rounds: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The rounds' f32[S, U_r] metrics joined along updates: f32[S, sum U_r]."""
    return {name: np.concatenate([r[name] for r in rounds], axis=1) for name in rounds[0]}
