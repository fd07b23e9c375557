"""The GP's length scales moved by leave-one-out error (GaussianProcess's length_cv)."""

import numpy as np
import pytest
from interp5d import Interpolator, get_function
from interp5d.methods.base import Method
from interp5d.methods.gp import CV_STEP, GaussianProcess
from interp5d.methods.gp_kernels import Solve, correlation, loo_residuals


@pytest.mark.parametrize("kernel, nu", [("product_matern", 2.5), ("matern", 1.5), ("sqexp", 2.5)])
def test_the_residuals_are_those_of_refits_without_each_row(kernel, nu):
    # ordinary kriging on the other rows, its constant mean estimated without the row too
    rng = np.random.default_rng(3)
    X = rng.uniform(-1.7, 1.7, (30, 5))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(30)
    theta = np.r_[rng.uniform(-0.2, 0.6, 5), np.log(1e-3)]
    fast = loo_residuals(kernel, nu, theta, X, y)
    length, lam = np.exp(theta[:5]), np.exp(theta[5])
    refit = []
    for i in range(len(X)):
        rest = np.arange(len(X)) != i
        C = correlation(kernel, nu, length, X[rest], X[rest])[0] + lam * np.eye(len(X) - 1)
        solve = Solve(C)
        alpha = solve.alpha(y[rest])
        k = correlation(kernel, nu, length, X[i : i + 1], X[rest])[0][0]
        refit.append(y[i] - (solve.beta + k @ alpha))
    np.testing.assert_allclose(fast, refit, rtol=1e-7, atol=1e-10 * np.abs(refit).max())


def test_a_matrix_that_cannot_be_factorised_gives_none():
    X = np.zeros((4, 5))  # four copies of one point, and no noise: singular
    assert loo_residuals("product_matern", 2.5, np.r_[np.zeros(5), -80.0], X, np.ones(4)) is None


def _fit(theta0, X, y, **settings):
    """The GP from theta0 as its search's optimum (no search): the solve alone."""
    gp = GaussianProcess(theta0=list(theta0), first_search=False, seed=1, **settings)
    return gp.fit(X, y)


def test_length_scales_set_off_either_way_are_moved_to_one_place():
    # noise-free borehole: the likelihood's scales set 0.5 shorter and 1.0 longer (its
    # leave-one-out error is least ~0.3 above them); each walk moves them back, to within
    # two steps of each other, and the test error falls with them (measured: 0.40x, 0.50x)
    X, y, _ = get_function("borehole").sample(300, seed=5)
    X_test, y_test, _ = get_function("borehole").sample(2000, seed=105)
    best = GaussianProcess(seed=1).fit(X, y).theta_
    ends = []
    for off in (-0.5, 1.0):
        start = best.copy()
        start[:5] += off
        plain, moved = _fit(start, X, y), _fit(start, X, y, length_cv=True)
        move = moved.length_cv_["log_move"]
        assert np.sign(move) == -np.sign(off)
        np.testing.assert_allclose(moved.theta_[:5], start[:5] + move)
        assert moved.theta_[5] == start[5]
        ends.append(off + move)
        mse = [np.mean((g.predict(X_test) - y_test) ** 2) for g in (plain, moved)]
        assert mse[1] < 0.6 * mse[0]
        # the record: each move's leave-one-out MSE, the kept one's the least
        scores = moved.length_cv_["loo_mse"]
        assert scores[f"{move:+.1f}"] == min(scores.values()) and len(scores) >= 3
    assert abs(ends[0] - ends[1]) <= 2 * CV_STEP + 1e-9


def test_a_gain_within_the_margin_keeps_the_likelihoods_scales_bit_for_bit():
    # a target that is noise alone: no move predicts it better by CV_SE standard errors
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (200, 5))
    y = rng.standard_normal(200)
    plain = GaussianProcess(seed=1).fit(X, y)
    cv = GaussianProcess(seed=1, length_cv=True).fit(X, y)
    assert cv.length_cv_["log_move"] == 0.0 and plain.length_cv_ is None
    np.testing.assert_array_equal(cv.theta_, plain.theta_)
    np.testing.assert_array_equal(cv.predict(X[:50]), plain.predict(X[:50]))


def test_the_default_records_the_move_and_a_load_keeps_it(tmp_path):
    X, y, _ = get_function("tp_tanh").sample(400, seed=4)
    est = Interpolator(seed=4).fit(X[:280], y[:280], X[280:], y[280:])
    record = est.choice_["gp_length_cv"]
    gp = est.chosen_ if est.choice_["chosen"] != "mlp" else None
    assert record["rows"] == 280 and "+0.0" in record["loo_mse"]
    if gp is not None:  # the GP's theta holds the move: the load's solve is the fit's
        assert record == gp.length_cv_
    est.save(tmp_path / "m.pt")
    back = Method.load(tmp_path / "m.pt")
    assert back.choice_["gp_length_cv"] == record
    # solved again on load (see test_auto's save and load: rounding alone)
    np.testing.assert_allclose(back.predict(X[280:]), est.predict(X[280:]), rtol=1e-7)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_a_setting_that_is_not_true_or_false_is_refused(value):
    X, y, _ = get_function("friedman1").sample(40, seed=1)
    with pytest.raises(ValueError, match="gp: length_cv must be true or false"):
        GaussianProcess(length_cv=value).fit(X, y)
    with pytest.raises(ValueError, match="auto: gp_length_cv must be true or false"):
        Interpolator(gp_length_cv=value).fit(X[:30], y[:30], X[30:], y[30:])


def test_the_default_without_it_records_none():
    X, y, _ = get_function("tp_tanh").sample(200, seed=4)
    est = Interpolator(seed=4, gp_length_cv=False).fit(X[:140], y[:140], X[140:], y[140:])
    assert est.choice_["gp_length_cv"] is None


def test_replicated_inputs_are_scored_once():
    # a replicate predicts its twin: scored with both, every move's residuals are ~0 and the
    # walk runs to the shortest scales (measured with exact copies, before the GP used
    # each once: -1.0, 32x the test MSE). Here the copies' targets differ by a little noise
    X, y, _ = get_function("borehole").sample(100, seed=1)
    X_test, y_test, _ = get_function("borehole").sample(2000, seed=101)
    rng = np.random.default_rng(0)
    twice_X, twice_y = np.r_[X, X], np.r_[y, y + 1e-3 * y.std() * rng.standard_normal(100)]
    once = GaussianProcess(seed=1, length_cv=True).fit(X, y)
    cv = GaussianProcess(seed=1, length_cv=True).fit(twice_X, twice_y)
    assert cv.copied_rows_ == 0 and cv.length_cv_["rows"] == 100
    assert cv.length_cv_["log_move"] >= 0
    # near the fit on the rows once (measured: 1.11x its test MSE)
    mse = [np.mean((g.predict(X_test) - y_test) ** 2) for g in (once, cv)]
    assert mse[1] < 1.5 * mse[0]
