"""The two-stage AWR training schedule, laid over optimiser steps or over wall time.

AWR trains in two stages (awr.md): the dense loss on the offset and closeness maps, then the joint loss through
the adaptive-weighting aggregation, each with its own learning rate that drops by 10x after `lr_decay_at` of
the stage. The direct-regression ablation has one stage (joint loss) with the same drop.

- Step schedule: the stages last `dense_steps` and `joint_steps` optimiser steps.
- Time schedule (`minutes` > 0): the stages last `dense_fraction` and 1 - `dense_fraction` of the budget of wall
  time, and the run ends when the budget is spent, whatever the speed of the machine.

`Schedule.at(step, elapsed_s)` gives the phase (stage and learning rate) for the next step, or None when the run
is over. Pure Python, no torch.
"""
from __future__ import annotations

from dataclasses import dataclass

LR_DROP = 0.1      # the learning rate is multiplied by this after lr_decay_at of each stage


@dataclass(frozen=True)
class Phase:
    stage: str          # "dense" or "joint"
    lr: float


@dataclass(frozen=True)
class Schedule:
    head: str                   # "awr" or "regression"
    lr: float
    joint_lr: float
    lr_decay_at: float          # fraction of each stage after which lr *= LR_DROP
    dense_steps: int = 0
    joint_steps: int = 0
    budget_s: float = 0.0       # > 0: time schedule
    dense_fraction: float = 0.35

    def __post_init__(self) -> None:
        if not 0.0 <= self.lr_decay_at <= 1.0:
            raise ValueError(f"lr_decay_at must be in [0, 1], got {self.lr_decay_at}")
        if not 0.0 <= self.dense_fraction < 1.0:
            raise ValueError(f"dense_fraction must be in [0, 1), got {self.dense_fraction}")
        if self.budget_s < 0 or self.dense_steps < 0 or self.joint_steps < 0:
            raise ValueError("steps and the time budget cannot be negative")
        if self.budget_s == 0 and self.dense_steps + self.joint_steps == 0:
            raise ValueError("the schedule has no steps and no time budget")

    @property
    def timed(self) -> bool:
        return self.budget_s > 0

    @property
    def total_steps(self) -> int:
        return self.dense_steps + self.joint_steps

    def progress(self, step: int, elapsed_s: float) -> float:
        """Share of the run done, in [0, 1]."""
        p = elapsed_s / self.budget_s if self.timed else step / self.total_steps
        return min(max(p, 0.0), 1.0)

    def at(self, step: int, elapsed_s: float) -> Phase | None:
        p = self.progress(step, elapsed_s)
        if p >= 1.0:
            return None
        if self.head == "regression":
            return Phase("joint", self._lr(self.lr, p))
        split = self.dense_fraction if self.timed else self.dense_steps / self.total_steps
        if p < split:
            return Phase("dense", self._lr(self.lr, p / split))
        return Phase("joint", self._lr(self.joint_lr, (p - split) / (1.0 - split)))

    def _lr(self, base: float, stage_progress: float) -> float:
        return base * (LR_DROP if stage_progress >= self.lr_decay_at else 1.0)

    def stage_boundary(self, step: int) -> bool:
        """True after the last dense step of a step schedule (a checkpoint is kept there)."""
        return not self.timed and self.head == "awr" and step == self.dense_steps
