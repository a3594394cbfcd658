"""Atomic, synchronous, resumable checkpoints of any pytree, on orbax.

    checkpointer = Checkpointer(run.checkpoint_dir, max_to_keep=3)
    checkpointer.save(update, train_state, metadata={"env_steps": env_steps})
    train_state = checkpointer.restore(None, target=train_state)   # None = the latest step
    checkpointer.close()

Each step is a folder `<directory>/<step>/` that orbax writes under a temporary name
(`<step>.orbax-checkpoint-tmp...`) and renames when complete, so a process killed mid-save
leaves the previous checkpoints restorable and no half checkpoint that `latest_step` sees.

The tree is stored flat: leaf `i` (in `jax.tree.flatten` order) is the array `leaf_<i>`,
and a JSON layout records each leaf's key path, shape and dtype. `restore` checks that
layout against the target before reading anything, so a changed model says which leaf
differs instead of restoring silently into the wrong shapes. Typed PRNG keys are stored
as their `jax.random.key_data` and rebuilt with the target's key implementation; empty
arrays (size 0) are not stored (orbax refuses them) and come back as zeros of their shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from marlax.errors import ConfigError
from marlax.runs.jsonable import jsonable
from marlax.validate import require_nonnegative_int, require_positive_int

PyTree = Any

_STATE, _LAYOUT, _METADATA = "state", "layout", "metadata"


class Checkpointer:
    """Saves and restores pytrees by integer step in one folder, keeping the newest few.

    Args:
        directory: the folder of step folders; created by the first `save`.
        max_to_keep: how many of the newest checkpoints to keep (>= 1).
    """

    def __init__(self, directory: Path, max_to_keep: int = 3) -> None:
        self.max_to_keep = require_positive_int("checkpoint.max_to_keep", max_to_keep)
        self.directory = Path(directory).absolute()
        self._manager: ocp.CheckpointManager | None = None
        if self.directory.is_dir():
            self._manager = self._open_manager()

    def _open_manager(self) -> ocp.CheckpointManager:
        options = ocp.CheckpointManagerOptions(
            max_to_keep=self.max_to_keep,
            enable_async_checkpointing=False,  # save returns only once the step is on disk
            cleanup_tmp_directories=True,  # remove what a killed save left behind
            create=True,
        )
        return ocp.CheckpointManager(
            self.directory, options=options, item_names=(_STATE, _LAYOUT, _METADATA)
        )

    def save(self, step: int, state: PyTree, metadata: dict | None = None) -> bool:
        """Write `state` (and JSON-able `metadata`, NaN as null) as checkpoint `step`, atomically.

        Returns only when the checkpoint is complete on disk. Returns False, writing
        nothing, when `step` is not newer than the latest saved step (a final save often
        repeats the last periodic one).
        """
        step = require_nonnegative_int("checkpoint.step", step)
        # not JSON-able: fail before writing; a NaN is stored as null, as in every run file
        metadata = json.loads(json.dumps(jsonable(dict(metadata or {})), allow_nan=False))
        if self._manager is None:
            self._manager = self._open_manager()
        latest = self._manager.latest_step()
        if latest is not None and step <= latest:
            return False
        layout, arrays = _flatten(state)
        items: dict[str, Any] = {
            _LAYOUT: ocp.args.JsonSave(layout),
            _METADATA: ocp.args.JsonSave(metadata),
        }
        if arrays:  # orbax refuses an empty tree
            items[_STATE] = ocp.args.StandardSave(arrays)
        saved = self._manager.save(step, args=ocp.args.Composite(**items))
        self._manager.wait_until_finished()
        return bool(saved)

    def all_steps(self) -> list[int]:
        """The steps of the complete checkpoints on disk, ascending."""
        if self._manager is None:
            if not self.directory.is_dir():
                return []
            self._manager = self._open_manager()
        self._manager.reload()
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or None when there is none."""
        steps = self.all_steps()
        return steps[-1] if steps else None

    def metadata(self, step: int | None = None) -> dict:
        """The `metadata` dict saved with `step` (None = the latest)."""
        step = self._existing_step(step)
        restored = self._manager.restore(
            step, args=ocp.args.Composite(**{_METADATA: ocp.args.JsonRestore()})
        )
        return dict(restored[_METADATA])

    def restore(self, step: int | None, target: PyTree) -> PyTree:
        """Checkpoint `step` (None = the latest) in the structure and leaf types of `target`.

        Args:
            step: a saved step, or None for the latest.
            target: a pytree like the saved one (its values are not read): its structure,
                shapes and dtypes must match the checkpoint's, and each restored leaf takes
                its target's type (jax array, numpy array, numpy or Python scalar, typed key).

        Returns:
            The saved values, bitwise, in `target`'s structure.

        Raises:
            ConfigError: no checkpoint in the folder, or `step` is not one of the saved steps;
                or the checkpoint's leaves differ from `target`'s (path, shape or dtype),
                naming the first few that differ (a run of another model, or of a marlax whose
                parameter tree has changed since: retrain it).
        """
        step = self._existing_step(step)
        target_layout, _ = _flatten(target, read_values=False)
        items: dict[str, Any] = {_LAYOUT: ocp.args.JsonRestore()}
        saved_layout = self._manager.restore(step, args=ocp.args.Composite(**items))[_LAYOUT]
        _check_layout(saved_layout, target_layout, self.directory / str(step))
        if any(_stored(entry) for entry in saved_layout):
            items = {_STATE: ocp.args.StandardRestore()}
            arrays = self._manager.restore(step, args=ocp.args.Composite(**items))[_STATE]
        else:
            arrays = {}
        target_leaves, treedef = jax.tree.flatten(target)
        leaves = [
            _as_target_leaf(_read_leaf(index, entry, arrays), target_leaf, entry)
            for index, (entry, target_leaf) in enumerate(
                zip(saved_layout, target_leaves, strict=True)
            )
        ]
        return jax.tree.unflatten(treedef, leaves)

    def close(self) -> None:
        """Release orbax's resources; the checkpoints stay on disk."""
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    def _existing_step(self, step: int | None) -> int:
        """`step` itself (or the latest for None), after checking it is on disk."""
        steps = self.all_steps()
        if not steps:
            raise ConfigError(
                "checkpoint", str(self.directory), "a folder holding at least one checkpoint"
            )
        if step is None:
            return steps[-1]
        if step not in steps:
            shown = ", ".join(str(saved) for saved in steps)
            raise ConfigError("checkpoint.step", step, f"one of the saved steps: {shown}")
        return step

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array | jax.ShapeDtypeStruct) and jax.dtypes.issubdtype(
        leaf.dtype, jax.dtypes.prng_key
    )


def _flatten(tree: PyTree, read_values: bool = True) -> tuple[list[dict], dict[str, np.ndarray]]:
    """The layout (one JSON entry per leaf) and, with `read_values`, the stored arrays."""
    layout, values = [], {}
    for index, (path, leaf) in enumerate(jax.tree_util.tree_flatten_with_path(tree)[0]):
        entry: dict[str, Any] = {"path": jax.tree_util.keystr(path)}
        if _is_key(leaf):
            # stored as key_data; dtype "key<fry>" names the implementation, impl rebuilds it
            data = jax.eval_shape(jax.random.key_data, leaf)
            entry.update(kind="key", shape=list(data.shape), dtype=str(leaf.dtype))
            entry["impl"] = _key_impl_name(leaf)
        elif isinstance(leaf, bool | int | float):
            entry.update(kind="scalar", shape=[], dtype=np.asarray(leaf).dtype.name)
        else:
            entry.update(kind="array", shape=list(np.shape(leaf)), dtype=np.dtype(leaf.dtype).name)
        layout.append(entry)
        if read_values and _stored(entry):
            values[f"leaf_{index}"] = jax.random.key_data(leaf) if entry["kind"] == "key" else leaf
    arrays = {name: np.asarray(value) for name, value in jax.device_get(values).items()}
    return layout, arrays


def _key_impl_name(leaf: jax.Array | jax.ShapeDtypeStruct) -> str | None:
    """The PRNG implementation's name ("threefry2x32", "rbg", ...); None when not knowable."""
    if isinstance(leaf, jax.Array):
        return str(jax.random.key_impl(leaf))
    return None


def _stored(entry: dict) -> bool:
    return int(np.prod(entry["shape"], dtype=np.int64)) > 0


def _check_layout(saved: list[dict], target: list[dict], where: Path) -> None:
    """ConfigError naming the first few leaves where `saved` and `target` differ: one line
    for the CLI (the caller's config builds another tree than the one saved)."""
    pairs = enumerate(zip(saved, target, strict=False))  # lengths compared below
    differences = [
        f"leaf {index}: saved {_describe(saved_entry)}, target {_describe(target_entry)}"
        for index, (saved_entry, target_entry) in pairs
        if not _entries_match(saved_entry, target_entry)
    ][:5]
    if len(saved) != len(target):
        differences.insert(0, f"{len(saved)} saved leaves, {len(target)} in target")
    if differences:
        raise ConfigError(
            "checkpoint",
            str(where),
            f"a checkpoint of the tree this config builds, but it does not match the target "
            f"tree (path, shape, dtype): {'; '.join(differences)}; it was saved by another "
            "model or by a marlax whose parameter layout has changed since: retrain the run",
        )


def _entries_match(saved: dict, target: dict) -> bool:
    if (saved["path"], list(saved["shape"])) != (target["path"], list(target["shape"])):
        return False
    if saved["kind"] == "scalar" and target["kind"] != "scalar":
        # a Python scalar turns 32-bit under jax.eval_shape: same kind of number suffices
        return np.dtype(saved["dtype"]).kind == np.dtype(target["dtype"]).kind
    return saved["dtype"] == target["dtype"]


def _describe(entry: dict) -> str:
    return f"{entry['path']} {entry['dtype']}{entry['shape']}"


def _read_leaf(index: int, entry: dict, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if not _stored(entry):
        return np.zeros(entry["shape"], dtype=entry["dtype"])
    return np.asarray(arrays[f"leaf_{index}"])


def _as_target_leaf(value: np.ndarray, target: Any, entry: dict) -> Any:
    """`value` as the same kind of object as `target` (key, jax array, numpy, scalar)."""
    if _is_key(target):
        impl = _key_impl_name(target) or entry.get("impl")
        return jax.random.wrap_key_data(jax.device_put(value), impl=impl)
    if isinstance(target, jax.Array):
        if target.is_fully_addressable:
            return jax.device_put(value, target.sharding)
        return jax.device_put(value)  # the caller re-shards
    if isinstance(target, jax.ShapeDtypeStruct):
        return jax.device_put(value.astype(target.dtype))
    if isinstance(target, bool | int | float):
        return type(target)(value.item())
    if isinstance(target, np.generic):
        return target.dtype.type(value.item())
    return value
