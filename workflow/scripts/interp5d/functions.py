"""Synthetic 5-D test functions: a registry by name, each with its domain and noise."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

N_FEATURES = 5
PLANS = ("uniform", "lhs", "sobol")  # sampling plans of the inputs


def _synthetic5d(x: np.ndarray) -> np.ndarray:
    x1, x2, x3, x4, x5 = x.T
    bump = np.exp(-((x3 - 0.5) ** 2 + (x4 - 0.5) ** 2) / 0.02)
    return (
        np.sin(2 * np.pi * x1) * np.cos(2 * np.pi * x2) + 0.3 * bump + 0.5 * x5**2 - 0.2 * x1 * x4
    )


def _friedman1(x: np.ndarray) -> np.ndarray:
    x1, x2, x3, x4, x5 = x.T
    return 10 * np.sin(np.pi * x1 * x2) + 20 * (x3 - 0.5) ** 2 + 10 * x4 + 5 * x5


def _styblinski_tang(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(x**4 - 16 * x**2 + 5 * x, axis=1)


def unit_points(plan: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points in [0, 1)^5 by a sampling plan, drawn with rng."""
    if plan == "uniform":
        return rng.uniform(size=(n, N_FEATURES))
    from scipy.stats import qmc

    if plan == "lhs":
        return qmc.LatinHypercube(d=N_FEATURES, rng=rng).random(n)
    if plan == "sobol":
        with warnings.catch_warnings():
            # the first n points of the sequence: balanced only for powers of 2, and the
            # study's sizes are not; scrambled, they are still a low-discrepancy design
            warnings.filterwarnings("ignore", "The balance properties of Sobol")
            return qmc.Sobol(d=N_FEATURES, scramble=True, rng=rng).random(n)
    raise ValueError(f"unknown sampling plan {plan!r}; known: {', '.join(PLANS)}")


@dataclass(frozen=True)
class TestFunction:
    """A 5-D function with its sampling domain [low, high]^5 and default noise sigma."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    low: float
    high: float
    noise: float
    description: str

    __test__ = False  # not a pytest class

    def sample(
        self, n: int, seed: int, noise: float | None = None, plan: str = "uniform"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw n points by a sampling plan; return X (n, 5), noisy y (n,) and noise-free
        f(X) (n,). Plans: `uniform` (independent uniform draws), `lhs` (a Latin hypercube:
        each input's range cut in n equal strata, one point in each) and `sobol` (a
        scrambled Sobol' sequence), the last two from scipy.stats.qmc, seeded."""
        if n < 1:
            raise ValueError(f"n must be a positive number of samples, got {n}")
        sigma = self.noise if noise is None else float(noise)
        if sigma < 0:
            raise ValueError(f"noise must be >= 0, got {sigma}")
        rng = np.random.default_rng(seed)
        X = self.low + (self.high - self.low) * unit_points(plan, n, rng)
        f = self.f(X)
        y = f + sigma * rng.standard_normal(n) if sigma > 0 else f.copy()
        return X, y, f


FUNCTIONS: dict[str, TestFunction] = {
    fn.name: fn
    for fn in (
        TestFunction(
            "synthetic5d",
            _synthetic5d,
            0.0,
            1.0,
            0.01,
            "sin(2πx1)cos(2πx2) + 0.3·exp(-((x3-.5)²+(x4-.5)²)/.02) + 0.5x5² - 0.2x1x4",
        ),
        TestFunction(
            "friedman1",
            _friedman1,
            0.0,
            1.0,
            1.0,
            "Friedman (1991): 10 sin(πx1x2) + 20(x3-.5)² + 10x4 + 5x5",
        ),
        TestFunction(
            "styblinski_tang",
            _styblinski_tang,
            -5.0,
            5.0,
            0.0,
            "½ Σ (xi⁴ - 16xi² + 5xi), noise-free",
        ),
    )
}


def get_function(name: str) -> TestFunction:
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown test function {name!r}; known: {', '.join(sorted(FUNCTIONS))}"
        ) from None
