"""Save and load Q-tables (`q_k{K}.npz`) and the run's `results.json`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marlax.algorithms.meanfield_q.config import MeanFieldConfig
from marlax.algorithms.meanfield_q.multisets import rank_counts, rank_table
from marlax.algorithms.meanfield_q.run import KResult, TrainedQ
from marlax.algorithms.meanfield_q.tables import ReferenceTables
from marlax.errors import ConfigError
from marlax.runs.atomic import atomic_path, write_json_atomic
from marlax.runs.jsonable import jsonable


def save_q(path: str | Path, trained: TrainedQ, config: MeanFieldConfig) -> Path:
    """Write Q_k and everything needed to index it to an `.npz` file."""
    path = Path(path)
    tables = trained.tables
    arrays: dict[str, Any] = {
        "semantics": np.array(trained.semantics),
        "k": np.array(trained.k),
        "q": trained.q,
        "discount_factor": np.array(config.simulation.discount_factor),
        "global_states": np.asarray(config.global_states, dtype=np.float64),
        "global_actions": np.asarray(config.global_actions, dtype=np.float64),
        "local_states": np.asarray(config.local_states, dtype=np.float64),
        "local_actions": np.asarray(config.local_actions, dtype=np.float64),
        "state_counts": tables.state_counts,
    }
    if isinstance(tables, ReferenceTables):
        arrays["action_counts"] = tables.action_counts
    else:
        arrays["pair_counts"] = tables.pair_counts
        arrays["group"] = tables.group

    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)  # a handle: savez would append .npz to a name
    return path


@dataclass(frozen=True)
class LoadedQ:
    """A Q-table read back from `q_k{K}.npz`."""

    semantics: str
    k: int
    q: np.ndarray
    """reference: f32[G*S, C*D]; paper: f32[G, P, C]."""
    discount_factor: float
    global_states: np.ndarray
    global_actions: np.ndarray
    local_states: np.ndarray
    local_actions: np.ndarray
    state_counts: np.ndarray
    """i32[S, B]."""
    action_counts: np.ndarray | None
    """reference: i32[D, A]."""
    pair_counts: np.ndarray | None
    """paper: i32[P, B, A]."""
    group: np.ndarray | None
    """paper: i32[P]."""

    @property
    def num_states(self) -> int:
        return len(self.global_states) * len(self.state_counts)

    def greedy_action(self, global_state: float, counts: Sequence[int]) -> dict[str, Any]:
        """The maximal action at mean-field state (global_state, counts) (first one on ties).

        Returns:
            {"global_action", "value"} plus "local_action_counts" (reference) or
            "pair_counts" (paper, rows = local states, columns = local actions).
        """
        matches = np.nonzero(self.global_states == global_state)[0]
        if len(matches) == 0:
            raise ConfigError("global_state", global_state, f"one of {self.global_states}")
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (self.state_counts.shape[1],) or counts.min() < 0:
            raise ConfigError("counts", counts.tolist(), f"{self.state_counts.shape[1]} counts")
        if counts.sum() != self.k:
            raise ConfigError("counts", counts.tolist(), f"counts summing to k={self.k}")
        rank = int(rank_counts(counts, rank_table(len(counts), self.k)))
        g = int(matches[0])
        if self.semantics == "reference":
            row = self.q[g * len(self.state_counts) + rank]
            best = int(row.argmax())
            num_d = len(self.action_counts)
            return {
                "global_action": float(self.global_actions[best // num_d]),
                "local_action_counts": self.action_counts[best % num_d].tolist(),
                "value": float(row[best]),
            }
        candidates = np.nonzero(self.group == rank)[0]
        block = self.q[g, candidates]  # [P_c, C]
        p, a = np.unravel_index(int(block.argmax()), block.shape)
        return {
            "global_action": float(self.global_actions[a]),
            "pair_counts": self.pair_counts[candidates[p]].tolist(),
            "value": float(block[p, a]),
        }


def load_q(path: str | Path) -> LoadedQ:
    """Read a `q_k{K}.npz` written by `save_q`."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ConfigError("path", str(path), f"a q_k*.npz file ({error})") from None
    with data:
        missing = {"semantics", "k", "q", "state_counts"} - set(data.files)
        if missing:
            raise ConfigError("path", str(path), f"a marlax Q-table (missing {sorted(missing)})")

        def _optional(name: str) -> np.ndarray | None:
            return data[name] if name in data.files else None

        return LoadedQ(
            semantics=str(data["semantics"]),
            k=int(data["k"]),
            q=data["q"],
            discount_factor=float(data["discount_factor"]),
            global_states=data["global_states"],
            global_actions=data["global_actions"],
            local_states=data["local_states"],
            local_actions=data["local_actions"],
            state_counts=data["state_counts"],
            action_counts=_optional("action_counts"),
            pair_counts=_optional("pair_counts"),
            group=_optional("group"),
        )


def result_record(result: KResult) -> dict[str, Any]:
    """A KResult as JSON-compatible numbers."""
    return {
        "k": result.k,
        "num_states": result.num_states,
        "num_entries": result.num_entries,
        "train_seconds": result.train_seconds,
        "deploy_seconds": result.deploy_seconds,
        "max_q": result.max_q,
        "mean_return": result.mean_return,
        "std_return": result.std_return,
        "mean_curve": [float(value) for value in result.mean_curve],
        "std_curve": [float(value) for value in result.std_curve],
    }


def write_results(path: str | Path, results: Sequence[KResult], metadata: dict[str, Any]) -> Path:
    """Write `results.json`: the run's settings and every number per k (NaN as null)."""
    path = Path(path)
    payload = {**metadata, "results": [result_record(result) for result in results]}
    write_json_atomic(path, jsonable(payload))
    return path
