"""The GP on fewer rows than it is given (solve_rows): the factor grown by blocks against a
whole factorisation, the greedy choice of rows, and the saved model's solve."""

import json

import numpy as np
import pytest
import torch
from interp5d.data import DataError
from interp5d.functions import get_function
from interp5d.methods.base import Method
from interp5d.methods.gp import GaussianProcess
from interp5d.methods.gp_kernels import correlation
from interp5d.methods.gp_rows import BlockFactor, greedy_blocks, worst_predicted
from scipy.linalg import LinAlgError, cholesky

LENGTHS = np.full(5, 0.6)


def corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return correlation("product_matern", 2.5, LENGTHS, A, B)[0]


def test_a_factor_grown_by_blocks_is_the_whole_matrixs():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 5))
    C = corr(X, X) + 1e-8 * np.eye(60)
    factor = BlockFactor(cholesky(C[:30, :30], lower=True), 60)
    for a, b in ((30, 40), (40, 47), (47, 60)):
        factor.extend(C[:a, a:b], C[a:b, a:b].copy())
    assert factor.rows == 60 and factor.L.flags.f_contiguous
    np.testing.assert_allclose(np.tril(factor.L), cholesky(C, lower=True), rtol=0, atol=1e-10)
    b = rng.standard_normal(60)
    np.testing.assert_allclose(factor.cho_solve(b), np.linalg.solve(C, b), rtol=1e-6)


def test_a_block_whose_complement_is_not_positive_definite_is_refused_and_the_factor_kept():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (20, 5))
    factor = BlockFactor(cholesky(corr(X, X) + 1e-12 * np.eye(20), lower=True), 30)
    before = factor.L.copy()
    same = X[:4]  # rows already in it: their complement is ~0; below it here
    with pytest.raises(LinAlgError, match="not positive definite"):
        factor.extend(corr(X, same), corr(same, same) - 1e-9 * np.eye(4))
    assert factor.rows == 20 and np.array_equal(factor.L, before)


def test_the_blocks_are_a_random_share_then_four_of_the_rest():
    assert greedy_blocks(5000) == [3000, 500, 500, 500, 500]
    assert greedy_blocks(1003) == [602, 101, 100, 100, 100]
    assert greedy_blocks(2) == [1, 1]


def test_the_worst_predicted_open_rows_are_chosen_in_order():
    residual = np.array([0.1, -5.0, 3.0, 4.0, -0.2])
    open_rows = np.array([True, True, False, True, True])
    assert worst_predicted(residual, open_rows, 2).tolist() == [1, 3]
    assert worst_predicted(residual, open_rows, 9).tolist() == [0, 1, 3, 4]  # what is open


def bump(X: np.ndarray) -> np.ndarray:
    """Smooth, with a narrow bump in one corner that a random subset samples thinly."""
    return np.sin(X[:, 0]) + X[:, 1] + 3 * np.exp(-np.sum((X - 0.8) ** 2, axis=1) / 0.02)


def fixed(solve_rows: int | None = None) -> GaussianProcess:
    """A GP at given hyperparameters (no search): fast, and the rows alone differ."""
    theta0 = [np.log(0.3)] * 5 + [np.log(1e-10)]
    return GaussianProcess(theta0=theta0, first_search=False, solve_rows=solve_rows, seed=5)


def test_the_greedy_rows_gather_where_the_target_is_hard_and_are_saved(tmp_path):
    rng = np.random.default_rng(5)
    X, X_test = rng.uniform(0, 1, (1200, 5)), rng.uniform(0, 1, (2000, 5))
    est = fixed(300).fit(X, bump(X))
    assert len(est.X_train_) == 300 and est.blocks_ == [180, 30, 30, 30, 30]
    # training rows, each once
    kept = est.x_scaler_.inverse_transform(est.X_train_)
    nearest = np.abs(kept[:, None, :] - X[None, :, :]).max(axis=2).argmin(axis=1)
    np.testing.assert_allclose(kept, X[nearest], rtol=0, atol=1e-12)
    assert len(set(nearest)) == 300
    # the blocks after the random start gather at the bump
    near = np.sum((est.x_scaler_.inverse_transform(est.X_train_) - 0.8) ** 2, axis=1) < 0.1
    assert near[180:].mean() > 3 * near[:180].mean()
    # the model file keeps the blocks: its solve is the same operations, the same numbers
    alpha = est.alpha_.copy()
    est._solve(est.X_train_, est.y_train_, est.blocks_)
    assert np.array_equal(alpha, est.alpha_)
    est.save(tmp_path / "gp.pt")
    back = Method.load(tmp_path / "gp.pt")
    assert back.blocks_ == est.blocks_
    np.testing.assert_allclose(back.predict(X_test), est.predict(X_test), rtol=1e-7, atol=1e-9)
    # at most solve_rows, every row, as before
    assert fixed(1200).fit(X, bump(X)).blocks_ == [1200]


def test_a_block_singular_with_the_rows_before_steps_the_noise_and_solves_again(monkeypatch):
    # a block that cannot be factorised below a noise ratio of 1e-10 stands in for one that
    # rounding makes singular with the rows before it
    import interp5d.methods.gp_rows as gp_rows

    failures = []
    real = gp_rows.BlockFactor.extend

    def fussy(self, C12, C22):
        if np.min(np.diag(C22)) < 1 + 1e-10:
            failures.append(self.rows)
            raise LinAlgError("not positive definite")
        real(self, C12, C22)

    monkeypatch.setattr(gp_rows.BlockFactor, "extend", fussy)
    X = np.random.default_rng(7).uniform(0, 1, (500, 5))
    theta0 = [np.log(0.3)] * 5 + [np.log(1e-12)]
    est = GaussianProcess(theta0=theta0, first_search=False, solve_rows=200, seed=7)
    est.fit(X, bump(X))
    assert failures[0] == 120 and 1e-10 <= est.noise_level_ < 1e-9  # stepped up, twice
    assert est.blocks_ == [120, 20, 20, 20, 20]
    alpha = est.alpha_.copy()
    est._solve(est.X_train_, est.y_train_, est.blocks_)  # as the model file's load does
    assert np.array_equal(alpha, est.alpha_)


def test_the_greedy_rows_fit_better_than_a_random_subset_of_as_many():
    # borehole (noise-free, smooth; seeds of their own): test MSE 0.25x at these settings
    fn = get_function("borehole")
    X, y, _ = fn.sample(1500, 3)
    X_test, y_test, _ = fn.sample(2000, 4)
    est = GaussianProcess(select_rows=300, solve_rows=500, seed=3).fit(X, y)
    subset = np.random.default_rng(6).choice(1500, 500, replace=False)
    theta0 = est.theta_.tolist()  # the same hyperparameters: only the rows differ
    random_500 = GaussianProcess(theta0=theta0, first_search=False).fit(X[subset], y[subset])
    mse = [float(np.mean((e.predict(X_test) - y_test) ** 2)) for e in (est, random_500)]
    assert mse[0] < 0.5 * mse[1]


@pytest.mark.parametrize("rows", [0, True, 2.5, "300"])
def test_a_bad_solve_rows_is_refused(rows):
    X = np.random.default_rng(0).uniform(0, 1, (40, 5))
    with pytest.raises(ValueError, match="gp: solve_rows must be a whole number"):
        GaussianProcess(solve_rows=rows).fit(X, bump(X))


@pytest.mark.parametrize("blocks", [[100, 50], [100, 0, 200], "300", [150.0, 150]])
def test_a_file_whose_blocks_do_not_make_its_rows_is_refused(blocks, tmp_path):
    X = np.random.default_rng(8).uniform(0, 1, (400, 5))
    fixed(300).fit(X, bump(X)).save(tmp_path / "gp.pt")
    blob = torch.load(tmp_path / "gp.pt", weights_only=True)
    meta = json.loads(blob["metadata"])
    meta["state"]["blocks"] = blocks
    blob["metadata"] = json.dumps(meta)
    torch.save(blob, tmp_path / "bad.pt")
    with pytest.raises(DataError, match=r"bad\.pt: state\.blocks must be whole numbers"):
        Method.load(tmp_path / "bad.pt")


def test_the_greedy_solve_starts_one_step_above_the_noise_floor():
    # on thousands of rows the floor is below their factorisation's rounding (gp_rows's
    # GREEDY_NOISE_STEPS); a solve on every row keeps the search's noise
    X = np.random.default_rng(9).uniform(0, 1, (400, 5))
    floor = GaussianProcess().noise_floor
    theta0 = [np.log(0.3)] * 5 + [np.log(floor)]

    def fitted(solve_rows: int | None) -> GaussianProcess:
        est = GaussianProcess(theta0=theta0, first_search=False, solve_rows=solve_rows, seed=9)
        return est.fit(X, bump(X))

    assert fitted(200).theta_[-1] == np.log(floor) + np.log(10.0)
    assert fitted(None).theta_[-1] == np.log(floor)
    above = [np.log(0.3)] * 5 + [np.log(1e-9)]  # a noise above it: as searched
    est = GaussianProcess(theta0=above, first_search=False, solve_rows=200, seed=9)
    assert est.fit(X, bump(X)).theta_[-1] == np.log(1e-9)
