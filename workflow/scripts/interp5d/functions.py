"""Synthetic 5-D test functions: a registry by name, each with its domain and noise.

Besides the three the recipes were tuned on (synthetic5d, friedman1, styblinski_tang), five
standard ones from the literature that no setting was chosen on: SMT's Rosenbrock and
tensor products (tanh, exp) at 5-D, and the borehole and piston functions of Surjanovic &
Bingham's Virtual Library of Simulation Experiments (VLSE) reduced to their five most
influential inputs, the others held at the middle of their ranges."""

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


def _rosenbrock(x: np.ndarray) -> np.ndarray:
    # SMT's Rosenbrock (smt.problems.Rosenbrock): Σ 100(x_{i+1} - x_i²)² + (1 - x_i)²
    return np.sum(100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1.0 - x[:, :-1]) ** 2, axis=1)


def _tp_tanh(x: np.ndarray) -> np.ndarray:
    # SMT's TensorProduct(func="tanh", width=1): Π tanh(x_i)
    return np.prod(np.tanh(x), axis=1)


def _tp_exp(x: np.ndarray) -> np.ndarray:
    # SMT's TensorProduct(func="exp", width=1): Π exp(x_i)
    return np.prod(np.exp(x), axis=1)


# the borehole's and the piston's inputs held fixed, at the middle of their VLSE ranges
BOREHOLE_FIXED = {"r": (100 + 50000) / 2, "Tu": (63070 + 115600) / 2, "Tl": (63.1 + 116) / 2}
PISTON_FIXED = {"Ta": (290 + 296) / 2, "T0": (340 + 360) / 2}


def _borehole(x: np.ndarray) -> np.ndarray:
    # water flow through a borehole (m³/yr), VLSE's formula; inputs rw, Hu, Hl, L, Kw
    rw, hu, hl, length, kw = x.T
    r, tu, tl = BOREHOLE_FIXED["r"], BOREHOLE_FIXED["Tu"], BOREHOLE_FIXED["Tl"]
    log_ratio = np.log(r / rw)
    return (
        2 * np.pi * tu * (hu - hl)
        / (log_ratio * (1 + 2 * length * tu / (log_ratio * rw**2 * kw) + tu / tl))
    )  # fmt: skip


def _piston(x: np.ndarray) -> np.ndarray:
    # a piston's cycle time (s), VLSE's formula; inputs M, S, V0, k, P0
    m, s, v0, k, p0 = x.T
    ta, t0 = PISTON_FIXED["Ta"], PISTON_FIXED["T0"]
    a = p0 * s + 19.62 * m - k * v0 / s
    v = s / (2 * k) * (np.sqrt(a**2 + 4 * k * p0 * v0 * ta / t0) - a)
    return 2 * np.pi * np.sqrt(m / (k + s**2 * p0 * v0 * ta / (t0 * v**2)))


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
    """A 5-D function with its sampling domain (a box: low and high, one number for every
    input or one per input) and default noise sigma."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    low: float | tuple[float, ...]
    high: float | tuple[float, ...]
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
        # one number broadcasts as before: the same operations, so the same samples bit for bit
        low, high = np.asarray(self.low, dtype=np.float64), np.asarray(self.high, dtype=np.float64)
        X = low + (high - low) * unit_points(plan, n, rng)
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
        TestFunction(
            "rosenbrock",
            _rosenbrock,
            -2.0,
            2.0,
            0.0,
            "Rosenbrock at 5-D as SMT defines it (smt.problems.Rosenbrock, domain [-2, 2]^5; "
            "also VLSE's): Σ_{i<5} 100(x_{i+1} - xi²)² + (1 - xi)², noise-free",
        ),
        TestFunction(
            "tp_tanh",
            _tp_tanh,
            -1.0,
            1.0,
            0.0,
            "SMT's tensor product of tanh at 5-D (smt.problems.TensorProduct, func='tanh', "
            "width 1, domain [-1, 1]^5): Π tanh(xi), a pure 5-way interaction, noise-free",
        ),
        TestFunction(
            "tp_exp",
            _tp_exp,
            -1.0,
            1.0,
            0.0,
            "SMT's tensor product of exp at 5-D (smt.problems.TensorProduct, func='exp', "
            "width 1, domain [-1, 1]^5): Π exp(xi) = exp(Σ xi), noise-free",
        ),
        TestFunction(
            "borehole",
            _borehole,
            (0.05, 990.0, 700.0, 1120.0, 9855.0),
            (0.15, 1110.0, 820.0, 1680.0, 12045.0),
            0.0,
            "Borehole water flow (Harper & Gupta 1983; Morris, Mitchell & Ylvisaker 1993; "
            "VLSE; SMT's WaterFlow) on its 5 most influential inputs rw, Hu, Hl, L, Kw, "
            "with r = 25050, Tu = 89335, Tl = 89.55 (the middle of their ranges), "
            "a smooth deterministic simulator, noise-free",
        ),
        TestFunction(
            "piston",
            _piston,
            (30.0, 0.005, 0.002, 1000.0, 90000.0),
            (60.0, 0.020, 0.010, 5000.0, 110000.0),
            0.01,
            "Piston cycle time in s (Kenett & Zacks 1998; Ben-Ari & Steinberg 2007; VLSE) "
            "on inputs M, S, V0, k, P0, with Ta = 293, T0 = 350 (the middle of their "
            "ranges), plus Gaussian noise σ = 0.01 s (ours: about 7% of its spread)",
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
