"""What a fit reports to when the caller gives it a monitor (the benchmark harness's
QualityMonitor): each validation's R², and the span of the training loop itself. A
protocol, so that the estimators and the loop know the shape, not the harness."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]  # standardised inputs -> standardised outputs


class FitMonitor(Protocol):
    curve: list[tuple[float, float]]  # (seconds since the fit began, validation R²)

    def observe(self, val_r2: float, snapshot: Callable[[], Predictor] | None = None) -> bool:
        """One validation's R² (and a way to take the model as it is); True: stop now."""
        ...

    def loop(self) -> AbstractContextManager[object]:
        """A context the fit holds for the span of its training loop alone."""
        ...
