"""The Ray backend's driver: one actor per member, rounds, exploit steps and restarts.

    population = RayPopulation(ray, config, folder, starts)      # the member actors
    record, metrics = population.update(record, 10)              # 10 updates of every member
    state = population.assemble(record)                          # a PBTState, as in-graph saves
    population.close()

A round: every member trains to the next interval boundary (or the call's end) and checkpoints;
the driver adds the returns to the interval sums and, at a boundary, ranks and explores
(`ray_record.exploit`). A member of the bottom quantile takes its source's (params, opt_state)
before its next round: the driver fetches them from the source (its state at the round's
start, the one it checkpointed) and passes them with the round's call.

A member that dies (killed, out of memory, its node lost) is restarted by Ray up to
`pbt.max_restarts` times; its constructor restores its latest checkpoint, and the driver gives it
the call it lost again. Every call names the update it starts from, so a call given twice
returns the same result: a run with a killed member ends as the uninterrupted run does.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.pbt.exploit import copy_members
from marlax.algorithms.pbt.ray_member import MemberStart, PopulationMember
from marlax.algorithms.pbt.ray_record import PopulationRecord, accumulate, exploit
from marlax.algorithms.pbt.ray_rounds import (
    join_rounds,
    round_pbt_columns,
    round_sizes,
    stack_members,
)
from marlax.algorithms.pbt.types import HYPERPARAMETERS, PBTState
from marlax.config import TrainConfig
from marlax.config.load import config_to_dict

MEMBERS_DIR = "members"
"""Inside the run folder: `members/<index>/<update>/`, each member's own checkpoints."""

RESTART_TIMEOUT_S = 600.0
"""How long the driver keeps giving a call again to a member that Ray is restarting."""

_RETRY_WAIT_S = 0.5

logger = logging.getLogger(__name__)


class MemberLostError(RuntimeError):
    """A member actor died and Ray could not bring it back (restarts used up, or too slow)."""


def actor_name(run_name: str, member: int) -> str:
    """The member actor's name in Ray (`ray.get_actor(name)` finds it, e.g. to kill it)."""
    return f"marlax-pbt/{run_name}/member-{member}"


class RayPopulation:
    """The member actors of one run and the rounds the driver gives them (module docstring)."""

    def __init__(
        self, ray: ModuleType, config: TrainConfig, run_path: Path, starts: Sequence[MemberStart]
    ) -> None:
        """Start one actor per member in `run_path / MEMBERS_DIR`.

        The driver's own checkpoint is the truth a run starts from, so member folders left by
        an earlier attempt are cleared first and every member begins at `starts[m]`.
        """
        self.ray, self.config = ray, config
        members_dir = Path(run_path) / MEMBERS_DIR
        shutil.rmtree(members_dir, ignore_errors=True)
        actor = ray.remote(PopulationMember)
        options = {
            "max_restarts": config.pbt.max_restarts,
            "max_task_retries": 0,  # the driver gives a lost call again itself (and logs it)
            "num_cpus": config.pbt.member_cpus,
            "scheduling_strategy": "SPREAD",
        }
        raw = config_to_dict(config)
        self.handles = [
            actor.options(name=actor_name(Path(run_path).name, m), **options).remote(
                raw, m, str(members_dir / str(m)), start
            )
            for m, start in enumerate(starts)
        ]
        self.calls_given_again = 0

    # ---- rounds ---------------------------------------------------------------------------

    def update(
        self, record: PopulationRecord, num_updates: int
    ) -> tuple[PopulationRecord, dict[str, np.ndarray]]:
        """`num_updates` updates of every member, in rounds that end at exploit boundaries.

        Returns:
            (record, metrics f32[S, U] each): PPO's, plus `pbt/*` as `PBTTrainer.update` gives.
        """
        interval = self.config.pbt.interval
        rounds = []
        for size in round_sizes(record.update, num_updates, interval):
            before = record
            results = self._train_round(record, size)
            metrics = stack_members(results)
            record = accumulate(record, metrics["return"])
            finite = all(bool(result["params_finite"]) for result in results)
            identity = np.arange(len(results), dtype=np.int32)
            record = replace(record, source=identity, params_finite=finite)
            exploited = record.update % interval == 0
            if exploited:
                record, _ = exploit(record, self.config)
            rounds.append({**metrics, **round_pbt_columns(before, record, size, exploited)})
        return record, join_rounds(rounds)

    def _train_round(self, record: PopulationRecord, size: int) -> list[dict[str, np.ndarray]]:
        adopted = self._adopted(record)
        calls = []
        for member, handle in enumerate(self.handles):
            hyperparams = tuple(
                float(getattr(record.hyperparams, name)[member]) for name in HYPERPARAMETERS
            )
            source = int(record.source[member])
            weights = adopted[source] if source != member else None
            calls.append(_bind(handle.train, record.update, weights, hyperparams, size))
        return self._gather(calls)

    def _adopted(self, record: PopulationRecord) -> dict[int, Any]:
        """{source: object ref of its (params, opt_state) at the round's start} for each
        member some other member copies."""
        sources = sorted({int(s) for m, s in enumerate(record.source) if int(s) != m})
        calls = [_bind(self.handles[s].weights, record.update) for s in sources]
        weights = self._gather(calls, [f"member {s}" for s in sources])
        return {s: self.ray.put(w) for s, w in zip(sources, weights, strict=True)}

    # ---- the whole population -------------------------------------------------------------

    def assemble(self, record: PopulationRecord) -> PBTState:
        """The population as one `PBTState` (seed axis S; copies still due are made), the
        layout in-graph PBT checkpoints and `pbt.policy` loads."""
        calls = [_bind(handle.state_at, record.update) for handle in self.handles]
        states = self._gather(calls)
        train = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *states)
        train = jax.device_get(copy_members(train, np.asarray(record.source)))
        return PBTState(
            train=train,
            hyperparams=record.hyperparams,
            return_sum=record.return_sum,
            return_count=record.return_count,
            fitness=record.fitness,
            key=record.key,
        )

    def pids(self) -> list[int]:
        """Each member actor's process id."""
        return self._gather([_bind(handle.pid) for handle in self.handles])

    def close(self) -> None:
        """End the member actors (their checkpoints stay)."""
        for handle in self.handles:
            self.ray.kill(handle, no_restart=True)

    # ---- calls that survive a member's death ----------------------------------------------

    def _gather(self, calls: Sequence[Callable[[], Any]], who: Sequence[str] | None = None) -> list:
        """The results of calls submitted together; a call whose actor died is given again."""
        who = who or [f"member {m}" for m in range(len(calls))]
        refs = [call() for call in calls]
        pending = zip(refs, calls, who, strict=True)
        return [self._get(ref, call, name) for ref, call, name in pending]

    def _get(self, ref: Any, call: Callable[[], Any], who: str) -> Any:
        errors = self.ray.exceptions
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        deaths = 0
        while True:
            try:
                return self.ray.get(ref)
            except errors.RayActorError as error:
                # unavailable: Ray is restarting it; died: restarts may be used up
                deaths += isinstance(error, errors.ActorDiedError)
                if deaths > self.config.pbt.max_restarts or time.monotonic() > deadline:
                    raise MemberLostError(
                        f"{who} died and did not come back (pbt.max_restarts = "
                        f"{self.config.pbt.max_restarts}); the run resumes from its last "
                        f"checkpoint: {type(error).__name__}: {error}"
                    ) from error
                logger.warning("%s died (%s): giving it its call again", who, type(error).__name__)
                self.calls_given_again += 1
                time.sleep(_RETRY_WAIT_S)
                ref = call()


def _bind(method: Any, *args: Any) -> Callable[[], Any]:
    """A zero-argument submitter of `method.remote(*args)` (to give a lost call again)."""
    return lambda: method.remote(*args)
