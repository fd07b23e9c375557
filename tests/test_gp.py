import numpy as np
import pytest
from interp5d import build_method, get_function
from interp5d.methods.base import Method
from interp5d.methods.gp_kernels import Likelihood


@pytest.mark.parametrize(
    "kernel, nu",
    [(k, nu) for k in ("product_matern", "matern") for nu in (0.5, 1.5, 2.5)] + [("sqexp", 2.5)],
)
def test_the_likelihoods_gradient_matches_finite_differences(kernel, nu):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.7, 1.7, (40, 5))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(40)
    nll = Likelihood(kernel, nu, X, y)
    theta = np.r_[rng.uniform(-0.5, 0.8, 5), -3.0]
    _, grad = nll(theta)
    step = 1e-6
    fd = [(nll(theta + e)[0] - nll(theta - e)[0]) / (2 * step) for e in np.eye(6) * step]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())


def test_the_predictive_variance_is_krigings():
    # at a training point of a noise-free fit the variance is ~0; far away it is the
    # process variance plus the constant mean's uncertainty
    X, y, _ = get_function("borehole").sample(80, seed=3)
    est = build_method({"class": "gp"}, seed=3).fit(X, y)
    _, std_at = est.predict(X[:5], return_std=True)
    assert np.all(std_at < 1e-4 * np.std(y))
    far = est.x_max_ + 10 * (est.x_max_ - est.x_min_)
    _, std_far = est.predict(far, return_std=True)
    sigma = np.sqrt(est.sigma2_) * est.y_scaler_.scale
    assert sigma <= std_far <= sigma * 1.5


def test_a_singular_correlation_steps_the_noise_up_and_says_so_in_theta(monkeypatch, tmp_path):
    # on all the rows the matrix can be singular in float64 where the subsample's was not:
    # a factorisation that fails below a noise ratio of 1e-10 stands in for one. The retry
    # restores the matrix from its copy: the model file's refit, built afresh, agrees
    import interp5d.methods.gp as gp_module

    real = gp_module.Solve

    class Fussy(real):
        def __init__(self, C, **kwargs):
            if np.min(np.diag(C)) < 1 + 1e-10:
                C[np.tril_indices(len(C))] = np.nan  # what a failure leaves of what it reads
                raise gp_module.LinAlgError("not positive definite")
            super().__init__(C, **kwargs)

    X, y, f = get_function("tp_exp").sample(60, seed=2)
    monkeypatch.setattr(gp_module, "Solve", Fussy)
    est = build_method({"class": "gp"}, seed=2).fit(X, y)
    assert 1e-10 <= est.noise_level_ < 1e-9  # stepped tenfold from the floor
    assert est.score(X, f) > 0.999
    est.save(tmp_path / "gp.pt")  # the stepped ratio is what the file holds
    monkeypatch.setattr(gp_module, "Solve", real)
    np.testing.assert_allclose(Method.load(tmp_path / "gp.pt").predict(X), est.predict(X))


def test_first_copies_leaves_out_exact_repeats_and_keeps_replicates():
    from interp5d.methods.gp import first_copies

    X = np.array([[0.0] * 5, [1.0] * 5, [0.0] * 5, [0.0] * 5, [2.0] * 5])
    y = np.array([3.0, 4.0, 3.0, 5.0, 6.0])  # row 2 repeats row 0; row 3 is a replicate
    X1, y1, copied = first_copies(X, y)
    assert copied == 1
    np.testing.assert_array_equal(X1, X[[0, 1, 3, 4]])  # in their order
    np.testing.assert_array_equal(y1, y[[0, 1, 3, 4]])
    Xa, ya = X[:2], y[:2]  # no repeats: the arrays themselves
    assert first_copies(Xa, ya) == (Xa, ya, 0)


def test_a_dataset_given_twice_fits_as_once(tmp_path):
    # two equal rows make the matrix singular at the noise floor: fitted on every row, the
    # noise was lifted (measured: test MSE 10x on this borehole, 4,500 against 0.02 on
    # 300 samples of Styblinski-Tang); each row is now used once
    from interp5d import Interpolator

    X, y, _ = get_function("borehole").sample(100, seed=1)
    X_test, y_test, _ = get_function("borehole").sample(2000, seed=101)
    once = build_method({"class": "gp"}, seed=1).fit(X, y)
    twice = build_method({"class": "gp"}, seed=1).fit(np.r_[X, X], np.r_[y, y])
    assert (once.copied_rows_, twice.copied_rows_) == (0, 100) and len(twice.X_train_) == 100
    mse = [np.mean((g.predict(X_test) - y_test) ** 2) for g in (once, twice)]
    assert mse[1] == pytest.approx(mse[0], rel=1e-3)
    # the default records it, and its model file keeps the record
    est = Interpolator(recipe={"epochs": 2}).fit(np.r_[X, X], np.r_[y, y], X_test, y_test)
    assert est.choice_["gp_copied_rows"] == 100
    est.save(tmp_path / "auto.pt")
    assert Method.load(tmp_path / "auto.pt").choice_["gp_copied_rows"] == 100


def test_noise_free_setting_interpolates_a_smooth_function():
    # a smooth noise-free target: the fitted noise goes to its floor and the training
    # points are reproduced closely
    X, y, f = get_function("styblinski_tang").sample(210, seed=7)
    est = build_method({"class": "gp", "settings": {}}, seed=7).fit(X, y)
    assert est.noise_level_ < 1e-6
    resid = est.predict(X) - y
    assert np.abs(resid).max() < 1e-3 * np.ptp(y)
    X_new, _, f_new = get_function("styblinski_tang").sample(200, seed=5)
    assert est.score(X_new, f_new) > 0.99


def test_product_kernel_fits_an_additive_function_the_radial_one_misses():
    # Styblinski-Tang is a sum of one-input quartics (scikit-learn's GP with a radial
    # Matérn reached R² 0.50 at 300 samples)
    X, y, _ = get_function("styblinski_tang").sample(200, seed=7)
    X_te, _, f_te = get_function("styblinski_tang").sample(300, seed=8)
    product = build_method({"class": "gp"}, seed=7).fit(X, y)
    radial = build_method({"class": "gp", "settings": {"kernel": "matern"}}, seed=7).fit(X, y)
    assert product.score(X_te, f_te) > 0.99 > radial.score(X_te, f_te)


@pytest.mark.parametrize("kernel", ["product_matern", "matern", "sqexp"])
def test_each_kernel_saves_and_loads(kernel, tmp_path):
    X, y, _ = get_function("friedman1").sample(60, seed=1)
    est = build_method({"class": "gp", "settings": {"kernel": kernel, "select_rows": 40}}, seed=1)
    est.fit(X, y)
    assert est.noise_level_ > 1e-4  # a noisy target: the noise term is fitted, not floored
    est.save(tmp_path / "gp.pt")
    back = Method.load(tmp_path / "gp.pt")
    assert back.kernel == kernel
    np.testing.assert_allclose(back.predict(X[:10]), est.predict(X[:10]), rtol=1e-9)


def test_unknown_kernel_is_refused():
    X, y, _ = get_function("friedman1").sample(30, seed=1)
    with pytest.raises(ValueError, match="gp: unknown kernel 'cubic'"):
        build_method({"class": "gp", "settings": {"kernel": "cubic"}}).fit(X, y)


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_the_upper_triangle_is_the_full_matrixs(nu):
    # the likelihood computes only the blocks on and above the diagonal: those entries
    # must be the full computation's, bit for bit (the same operations on the same pairs)
    from interp5d.methods.gp_kernels import BLOCK_ROWS, correlation, differences

    X = np.random.default_rng(4).uniform(-1.7, 1.7, (BLOCK_ROWS * 2 + 37, 5))
    length = np.array([0.5, 1.0, 2.0, 0.7, 3.0])
    R, G = correlation("product_matern", nu, length, X, X, grad=True)
    D = differences(X, X, upper=True)
    R_up, G_up = correlation(
        "product_matern", nu, length, X, X, grad=True, D=D, G=np.zeros_like(D), upper=True
    )
    upper = np.triu(np.ones(R.shape, dtype=bool))
    np.testing.assert_array_equal(R_up[upper], R[upper])
    for i in range(5):
        np.testing.assert_array_equal(G_up[i][upper], G[i][upper])


def test_strictly_upper_zeroes_the_diagonal_and_below():
    from interp5d.methods.gp_kernels import BLOCK_ROWS, strictly_upper

    M = np.random.default_rng(5).standard_normal((BLOCK_ROWS + 9, BLOCK_ROWS + 9))
    np.testing.assert_array_equal(strictly_upper(M.copy()), np.triu(M, 1))


def test_the_refining_search_stops_at_its_evaluation_cap(monkeypatch):
    # L-BFGS-B's own maxfun is checked between iterations: its line searches overran it.
    # The cap ends the search and keeps the best point seen
    import interp5d.methods.gp as gp_module
    from scipy.optimize import minimize

    calls = []

    def banana(theta):  # Rosenbrock's valley: dozens of evaluations from 0
        a, b = theta[:-1], theta[1:]
        value = float(np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2))
        grad = np.zeros_like(theta)
        grad[:-1] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
        grad[1:] += 200.0 * (b - a * a)
        return value, grad

    def recorded(theta):
        calls.append(theta.copy())
        return banana(theta)

    capped = gp_module.Capped(recorded, 4)
    with pytest.raises(gp_module.EvaluationCap):
        minimize(capped, np.zeros(6), jac=True, method="L-BFGS-B", options={"maxiter": 100})
    assert capped.evaluations == len(calls) == 4
    values = [banana(t)[0] for t in calls]
    assert capped.best_value == min(values)
    np.testing.assert_array_equal(capped.best_theta, calls[int(np.argmin(values))])

    # in a fit: the refining search's evaluations are at most REFINE_STEPS, its start's
    # (evaluated to choose it) among them, and the fit counts each evaluation once
    made = []

    class Recorded(gp_module.Capped):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(gp_module, "Capped", Recorded)
    X, y, _ = get_function("rosenbrock").sample(400, seed=3)
    plain = build_method({"class": "gp", "settings": {"select_rows": 150}}, seed=3).fit(X, y)
    assert not made
    refined = build_method(
        {"class": "gp", "settings": {"select_rows": 150, "refine_rows": 400}}, seed=3
    ).fit(X, y)
    (capped,) = made
    assert 1 <= capped.evaluations <= gp_module.REFINE_STEPS and capped.reused == 1
    extra = refined.likelihood_evaluations_ - plain.likelihood_evaluations_
    assert extra > capped.evaluations - capped.reused


def test_the_refine_starts_where_the_matrix_factorises_and_the_likelier_start_wins():
    import interp5d.methods.gp as gp_module

    calls = []

    def likelihood(theta):
        # singular below a noise ratio of e^-10; likelier the shorter the first length scale
        calls.append(theta.copy())
        if theta[-1] < -10.0:
            return gp_module.FAILED, np.zeros_like(theta)
        return float(theta[0]), np.ones_like(theta)

    theta, value, grad, spent = gp_module.GaussianProcess._factorisable(
        likelihood, np.r_[np.full(5, 4.0), -30.0]
    )
    assert theta[-1] >= -10.0 > theta[-1] - np.log(10.0)  # the first tenfold step that works
    np.testing.assert_array_equal(theta[:5], 4.0)
    assert value == 4.0 and spent == len(calls) == 10


@pytest.mark.parametrize("likelier", ["cut", "found"])
def test_the_refine_starts_from_the_likelier_of_the_two(monkeypatch, likelier):
    import interp5d.methods.gp as gp_module

    found = np.array([0.0, 5.0, 0.0, 4.0, 0.0, -5.0])  # x1 and x3 dropped by the first search
    cut = np.r_[0.0, gp_module.REFINE_LOG_LENGTH_CAP, 0.0, gp_module.REFINE_LOG_LENGTH_CAP, 0.0]
    cut = np.r_[cut, -5.0]
    best_on_refine_rows = cut if likelier == "cut" else found

    class Quadratic:
        """A likelihood with its optimum at `found` on the search's rows, and on the
        refine's (more) rows at one of the two starts."""

        def __init__(self, kernel, nu, X, y):
            self.centre = found if len(X) <= 40 else best_on_refine_rows

        def __call__(self, theta):
            return float(np.sum((theta - self.centre) ** 2)), 2 * (theta - self.centre)

    starts = []

    class Recorded(gp_module.Capped):
        def __init__(self, f, limit, known=None):
            super().__init__(f, limit, known)
            starts.append(known[0])

    monkeypatch.setattr(gp_module, "Likelihood", Quadratic)
    monkeypatch.setattr(gp_module, "Capped", Recorded)
    X = np.random.default_rng(0).uniform(-1, 1, (120, 5))
    est = gp_module.GaussianProcess(select_rows=40, refine_rows=120, seed=1)
    est.fit(X, X[:, 0])
    np.testing.assert_allclose(starts[0], best_on_refine_rows, atol=1e-4)
    np.testing.assert_allclose(est.theta_, best_on_refine_rows, atol=1e-4)


def test_copy_triangle_mirrors_the_upper_triangle_and_restores_it():
    from interp5d.methods.gp_kernels import BLOCK_ROWS, copy_triangle

    n = BLOCK_ROWS + 21
    M = np.random.default_rng(6).standard_normal((n, n))
    upper = np.triu(np.ones((n, n), dtype=bool))
    before = M[upper].copy()
    copy_triangle(M, to_lower=True)
    np.testing.assert_array_equal(M, M.T)
    np.testing.assert_array_equal(M[upper], before)
    M[np.triu(np.ones((n, n), dtype=bool), 1)] = np.nan  # a failed factorisation's work
    copy_triangle(M, to_lower=False)
    np.testing.assert_array_equal(
        M[np.triu(np.ones((n, n), dtype=bool), 1)], M.T[np.triu(np.ones((n, n), dtype=bool), 1)]
    )
    np.testing.assert_array_equal(M[upper], before)


def test_a_search_started_at_its_optimum_ends_there_sooner():
    # theta0 is the first search's start: from the default start's optimum, the same
    # optimum in fewer likelihood evaluations
    from interp5d.methods.gp import GaussianProcess

    X, y, _ = get_function("styblinski_tang").sample(150, seed=3)
    cold = GaussianProcess(seed=3).fit(X, y)
    warm = GaussianProcess(theta0=cold.theta_.tolist(), seed=3).fit(X, y)
    assert warm.likelihood_evaluations_ < cold.likelihood_evaluations_
    np.testing.assert_allclose(warm.theta_, cold.theta_, atol=0.05)


@pytest.mark.parametrize("theta0", [[0.0] * 5, [0.0] * 5 + [float("nan")], "zeros"])
def test_a_malformed_theta0_is_refused(theta0):
    from interp5d.methods.gp import GaussianProcess

    X, y, _ = get_function("friedman1").sample(30, seed=1)
    with pytest.raises(ValueError, match="gp: theta0 must be 6 finite numbers"):
        GaussianProcess(theta0=theta0).fit(X, y)


def test_without_a_first_search_theta0_is_its_optimum():
    from interp5d.methods.gp import GaussianProcess

    X, y, _ = get_function("styblinski_tang").sample(150, seed=3)
    cold = GaussianProcess(seed=3).fit(X, y)
    taken = GaussianProcess(theta0=cold.theta_.tolist(), first_search=False, seed=3).fit(X, y)
    assert taken.likelihood_evaluations_ == 0
    np.testing.assert_array_equal(taken.theta_, cold.theta_)
    np.testing.assert_allclose(taken.predict(X), cold.predict(X), rtol=1e-9)
    with pytest.raises(ValueError, match="gp: first_search must be True, or False with theta0"):
        GaussianProcess(first_search=False).fit(X, y)
    with pytest.raises(ValueError, match="gp: first_search must be True, or False with theta0"):
        GaussianProcess(theta0=cold.theta_.tolist(), first_search=0).fit(X, y)


def _interpolators_gp(**settings):
    """The GP as the default interpolator sets it up (its noisy_search off), with
    `settings` over it."""
    from interp5d import Interpolator

    gp = Interpolator(seed=1, gp_noise_share=None).candidates(700)["gp"]
    return gp.set_params(**settings)


def test_a_noisy_target_gets_the_wide_search_and_a_better_fit():
    # synthetic5d (noise 1% of its range): the 300-row first search takes its bump in x3-x4
    # for noise, and the refine's few steps from there stay put; the wide search from the
    # default start on the refine's 700 rows finds it (measured: 0.58x the test MSE)
    X, y, _ = get_function("synthetic5d").sample(1000, seed=1)
    X_test, y_test, _ = get_function("synthetic5d").sample(2000, seed=101)
    plain = _interpolators_gp().fit(X[:700], y[:700])
    wide = _interpolators_gp(noisy_search=1e-3).fit(X[:700], y[:700])
    # the share the first search found, as the wide search's condition reads it
    first = _interpolators_gp(refine_rows=None).fit(X[:700], y[:700])
    assert first.noise_level_ * first.sigma2_ >= 1e-3
    assert wide.likelihood_evaluations_ > plain.likelihood_evaluations_
    mse = {k: np.mean((g.predict(X_test) - y_test) ** 2) for k, g in (("p", plain), ("w", wide))}
    assert mse["w"] < 0.8 * mse["p"]


def test_a_noise_free_target_is_searched_as_before_bit_for_bit():
    X, y, _ = get_function("tp_tanh").sample(1000, seed=1)
    plain = _interpolators_gp().fit(X[:700], y[:700])
    screened = _interpolators_gp(noisy_search=1e-3).fit(X[:700], y[:700])
    np.testing.assert_array_equal(screened.theta_, plain.theta_)
    # one evaluation more: the noise share, read at the first search's optimum
    assert screened.likelihood_evaluations_ == plain.likelihood_evaluations_ + 1


@pytest.mark.parametrize("share", [0, 1.5, True, "high"])
def test_a_bad_noisy_search_is_refused(share):
    X, y, _ = get_function("friedman1").sample(30, seed=1)
    with pytest.raises(ValueError, match="gp: noisy_search must be in"):
        _interpolators_gp(noisy_search=share).fit(X, y)


def _huge_pages() -> bool:
    """numpy's setting for new large arrays (read by setting it to what it was)."""
    from numpy._core.multiarray import _set_madvise_hugepage

    current = _set_madvise_hugepage(True)
    _set_madvise_hugepage(current)
    return current


@pytest.mark.parametrize("before", [True, False])
def test_fit_and_load_ask_for_ordinary_pages_and_set_numpy_back(before, monkeypatch, tmp_path):
    # huge pages can stall a first touch (gp_kernels.ordinary_pages): off while the GP
    # fits and loads, and the caller's setting, whichever it was, back after
    from interp5d.methods.gp import GaussianProcess
    from numpy._core.multiarray import _set_madvise_hugepage

    seen = []
    solve = GaussianProcess._solve

    def spy(self, *args, **kwargs):
        seen.append(_huge_pages())
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(GaussianProcess, "_solve", spy)
    X, y, _ = get_function("synthetic5d").sample(120, 0)
    previous = _set_madvise_hugepage(before)
    try:
        est = build_method({"class": "gp"}).fit(X, y)
        assert _huge_pages() is before
        est.save(tmp_path / "gp.pt")
        loaded = Method.load(tmp_path / "gp.pt")
        assert _huge_pages() is before
        with pytest.raises(ValueError, match="exceed max_rows"):  # a fit that fails, too
            GaussianProcess(max_rows=50).fit(X, y)
        assert _huge_pages() is before
    finally:
        _set_madvise_hugepage(previous)
    assert seen == [False, False]  # the fit's solve and the load's
    np.testing.assert_array_equal(loaded.predict(X[:5]), est.predict(X[:5]))


def test_overlapping_spans_in_threads_set_numpy_back_once_the_last_ends():
    # numpy's setting is the process's: the first span in keeps it, the last out restores
    import threading

    from interp5d.methods.gp_kernels import ordinary_pages
    from numpy._core.multiarray import _set_madvise_hugepage

    entered, release = threading.Event(), threading.Event()

    def second() -> None:
        with ordinary_pages():
            entered.set()
            release.wait(10)

    previous = _set_madvise_hugepage(True)
    try:
        other = threading.Thread(target=second)
        with ordinary_pages():
            other.start()
            assert entered.wait(10)
        assert _huge_pages() is False  # the other span is still open
        release.set()
        other.join(10)
        assert _huge_pages() is True
    finally:
        release.set()
        _set_madvise_hugepage(previous)
