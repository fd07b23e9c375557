"""Quality targets and time to quality (MLPerf's measure): validation R² as a fit goes,
and the first moment it reaches each target."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from interp5d.training.monitor import Predictor


@dataclass(frozen=True)
class Target:
    """A validation R² level, by name: `ceiling-0.01` (within 0.01 of the dataset's noise
    ceiling) or `r2-0.99` (an absolute level)."""

    name: str
    value: float


@dataclass(frozen=True)
class TargetSpec:
    """A study's targets: validation R² within each of `below_ceiling` of a dataset's noise
    ceiling when it has one (synthetic functions; 1 for a noise-free one), else the
    absolute R² `levels` (file datasets)."""

    below_ceiling: Sequence[float] = ()
    levels: Sequence[float] = ()

    def for_run(self, ceiling: float | None) -> list[Target]:
        """The targets of one run, given its validation split's noise ceiling (or None)."""
        if ceiling is not None:
            return [Target(f"ceiling-{d:g}", ceiling - d) for d in self.below_ceiling]
        return [Target(f"r2-{v:g}", v) for v in self.levels]


@dataclass
class Reached:
    elapsed_s: float
    val_r2: float
    predictor: Predictor | None  # the model as it was then (for its test R²)


@dataclass
class QualityMonitor:
    """Watches a fit: each validation's R² with the seconds since `start`, and for each
    target the first validation that reached it. `observe` returns True once every target
    is reached (a recipe with stop_at_target then stops); never when there are none. With a
    `loop_meter` (a memory meter), the fit holds it for its training loop alone (`loop`)."""

    targets: list[Target]
    curve: list[tuple[float, float]] = field(default_factory=list)  # (elapsed s, val R²)
    reached: dict[str, Reached] = field(default_factory=dict)
    t0: float | None = None
    loop_meter: AbstractContextManager[Any] | None = None

    def loop(self) -> AbstractContextManager[Any]:
        """The span of the fit's training loop: the loop meter, when there is one."""
        return self.loop_meter if self.loop_meter is not None else contextlib.nullcontext()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def observe(self, val_r2: float, snapshot: Callable[[], Predictor] | None = None) -> bool:
        """One validation. `snapshot` gives a predictor of the model as it is now; it is
        called only when a target is first reached."""
        if self.t0 is None:
            raise RuntimeError("QualityMonitor.observe before start()")
        elapsed = time.perf_counter() - self.t0
        self.curve.append((elapsed, val_r2))
        for t in self.targets:
            if t.name not in self.reached and val_r2 >= t.value:
                self.reached[t.name] = Reached(elapsed, val_r2, snapshot() if snapshot else None)
        return bool(self.targets) and len(self.reached) == len(self.targets)

    def records(self, test_r2: Callable[[Predictor], float]) -> list[dict[str, Any]]:
        """One record per target: reached or not, when, and the test R² of the model as it
        was when it reached the target."""
        out = []
        for t in self.targets:
            hit = self.reached.get(t.name)
            out.append(
                {
                    "target": t.name,
                    "target_r2": t.value,
                    "reached": hit is not None,
                    "time_to_target_s": hit.elapsed_s if hit else None,
                    "val_r2_at_target": hit.val_r2 if hit else None,
                    "test_r2_at_target": (
                        test_r2(hit.predictor) if hit and hit.predictor is not None else None
                    ),
                }
            )
        return out
