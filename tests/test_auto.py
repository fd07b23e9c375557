"""The default interpolator (interp5d.Interpolator): its choice on hand-built cases where
each candidate must win, save/load of each choice, the one-point fast path against the
plain path, and the GP's gradient against finite differences."""

import json

import numpy as np
import pytest
import torch
from interp5d import DataError, Interpolator, Method, get_function
from interp5d.fastpath import GPPoint
from interp5d.methods.base import clone
from interp5d.methods.gp import GaussianProcess
from interp5d.methods.least_squares import LeastSquares

W = np.array([1.0, -2.0, 1.0, 0.5, 1.0])


def oblique_hinge(X: np.ndarray) -> np.ndarray:
    """max(w·x - 1.2, 0): a hinge across the inputs, a ReLU's shape, which a product of
    one-input kernels fits badly (the MLP's validation MSE is ~8x lower at 600 rows)."""
    return np.maximum(X @ W - 1.2, 0.0)


def split(f, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, Xv = rng.uniform(0, 1, (n, 5)), rng.uniform(0, 1, (n // 2, 5))
    return X, f(X), Xv, f(Xv)


@pytest.fixture(scope="module")
def gp_choice():
    # a smooth, noise-free engineering function: a GP's validation MSE is ~1000x the MLP's
    fn = get_function("borehole")
    X, y, _ = fn.sample(300, 1)
    return Interpolator(seed=1).fit(X[:200], y[:200], X[200:], y[200:]), X


@pytest.fixture(scope="module")
def mlp_choice():
    X, y, Xv, yv = split(oblique_hinge, 600)
    return Interpolator(seed=1).fit(X, y, Xv, yv), Xv


def test_the_gp_is_chosen_where_it_is_more_accurate(gp_choice):
    est, _ = gp_choice
    choice = est.choice_
    assert choice["chosen"] == "gp" and est.chosen_.name == "gp"
    assert choice["val_mse"]["gp"] < choice["val_mse"]["mlp"]
    assert choice["rows"] == {"gp": 200, "mlp": 200} and choice["val_rows"] == 100
    assert set(choice["fit_s"]) == {"gp", "mlp"}


def test_the_mlp_is_chosen_where_it_is_more_accurate(mlp_choice):
    est, _ = mlp_choice
    assert est.choice_["chosen"] == "mlp" and est.chosen_.name == "mlp"
    assert est.choice_["val_mse"]["mlp"] < est.choice_["val_mse"]["gp"]


class Offset(LeastSquares):
    """Least squares, its predictions shifted by `offset` (in y's standardised units)."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def _predict(self, X):
        return super()._predict(X) + self.offset


@pytest.mark.parametrize(
    ("offsets", "chosen"),
    [((0.1, 0.3), "gp"), ((0.3, 0.1), "mlp"), ((0.2, -0.2), "blend")],
)
def test_the_selection_keeps_the_lowest_validation_mse(offsets, chosen, monkeypatch):
    # a linear target, so least squares is exact: the offsets alone set each candidate's
    # validation MSE, and opposite ones make their mean exact
    X, Xv = np.random.default_rng(0).uniform(0, 1, (2, 80, 5))
    candidates = {"gp": Offset(offsets[0]), "mlp": Offset(offsets[1])}
    monkeypatch.setattr(Interpolator, "candidates", lambda self, n: candidates)
    est = Interpolator().fit(X, X @ W, Xv, Xv @ W)
    assert est.choice_["chosen"] == chosen
    mse = est.choice_["val_mse"]
    assert min(mse, key=mse.get) == chosen and set(mse) == {"gp", "mlp", "blend"}
    parts = [candidates["gp"], candidates["mlp"]] if chosen == "blend" else [candidates[chosen]]
    assert est.parts_ == parts
    # the offsets are in the candidates' standardised units: the training targets' std
    scale = float(est.y_scaler_.scale * candidates["gp"].y_scaler_.scale)
    expected = (Xv @ W) + scale * (np.mean(offsets) if chosen == "blend" else min(offsets))
    np.testing.assert_allclose(est.predict(Xv), expected, rtol=1e-9, atol=1e-9)


class Wobble(LeastSquares):
    """Least squares plus an error that looks like noise: a common part and, with `sign`,
    a small part of its own (the GP's e + u, the MLP's e - u: their mean's error is e)."""

    def __init__(self, sign: float = 1.0):
        self.sign = sign

    def _predict(self, X):
        common = 0.3 * np.sin(1e3 * X[:, 0])
        own = 0.02 * np.sin(7e2 * X[:, 1])
        return super()._predict(X) + common + self.sign * own


@pytest.mark.parametrize(("se_rule", "chosen"), [(1.0, "gp"), (0.0, "blend")])
def test_within_one_standard_error_the_gp_is_kept(se_rule, chosen, monkeypatch):
    # the blend's validation MSE is lowest, but the GP's is above it by less than one
    # standard error of their paired difference: the rule keeps the GP, and 0 the lowest
    X, Xv = np.random.default_rng(1).uniform(0, 1, (2, 80, 5))
    candidates = {"gp": Wobble(1.0), "mlp": Wobble(-1.0)}
    monkeypatch.setattr(Interpolator, "candidates", lambda self, n: candidates)
    est = Interpolator(se_rule=se_rule).fit(X, X @ W, Xv, Xv @ W)
    choice = est.choice_
    mse, se = choice["val_mse"], choice["val_se"]
    assert min(mse, key=mse.get) == "blend" and se["blend"] == 0.0
    assert 0 < mse["gp"] - mse["blend"] < se["gp"]
    assert choice["chosen"] == chosen
    assert ("standard error" in choice["why"]) == (chosen == "gp")


def test_select_takes_the_first_in_order_within_the_margin():
    from interp5d.auto import select

    rng = np.random.default_rng(2)
    e = rng.standard_normal(200)
    # far apart: the lowest, whatever the order
    chosen, why, se = select({"gp": 4 * e**2, "mlp": e**2, "blend": 2 * e**2}, 1.0)
    assert chosen == "mlp" and why == "lowest validation MSE" and se["mlp"] == 0.0
    # a tie goes to the GP; a non-finite MSE is never kept
    assert select({"gp": e**2, "mlp": e**2}, 0.0)[0] == "gp"
    assert select({"gp": np.full(200, np.nan), "mlp": e**2}, 1.0)[0] == "mlp"
    # the margin is the paired difference's standard error (here 0.1/√200), times se_rule
    z = rng.standard_normal(200)
    z = (z - z.mean()) / z.std(ddof=1)
    margin = 0.1 / np.sqrt(200)
    for above, se_rule, expected in [(0.5, 1.0, "gp"), (2.0, 1.0, "mlp"), (2.0, 3.0, "gp")]:
        mlp = e**2
        gp = mlp + above * margin + 0.1 * z  # its MSE `above` margins over the MLP's
        chosen, _, se = select({"gp": gp, "mlp": mlp}, se_rule)
        assert se["gp"] == pytest.approx(margin) and se["mlp"] == 0.0
        assert chosen == expected


@pytest.fixture(scope="module")
def blend_choice():
    # the GP's and the MLP's errors differ on synthetic5d at 1,000 samples: seed 42's
    # validation MSE is lowest for their mean
    X, y, _ = get_function("synthetic5d").sample(1000, 42)
    from interp5d import split_indices

    tr, va, _ = split_indices(1000, seed=42)
    return Interpolator(seed=42).fit(X[tr], y[tr], X[va], y[va]), X[va]


def test_the_choice_is_the_lower_validation_mse_in_the_data_units(gp_choice):
    est, X = gp_choice
    fn = get_function("borehole")
    y = fn.f(X)
    # the chosen model's validation MSE, recomputed from its predictions
    mse = float(np.mean((est.predict(X[200:]) - y[200:]) ** 2))
    assert est.choice_["val_mse"]["gp"] == pytest.approx(mse, rel=1e-6)


def test_large_n_leaves_the_gp_out_and_without_validation_the_choice_is_by_size():
    X, y, Xv, yv = split(oblique_hinge, 300)
    recipe = {"epochs": 2, "batch_size": 64, "engine": "fast"}
    est = Interpolator(recipe=recipe, gp_up_to=100).fit(X, y, Xv, yv)
    assert list(est.choice_["val_mse"]) == ["mlp"] and est.choice_["chosen"] == "mlp"
    est = Interpolator(recipe=recipe).fit(X, y)
    assert est.choice_["chosen"] == "gp" and est.choice_["val_mse"] == {}
    assert "no validation data" in est.choice_["why"]
    # above gp_rows the GP is solved on a seeded subset of that many rows (unscreened: the
    # hinge's kink is what a smooth kernel calls noise, and the screen would drop it)
    est = Interpolator(recipe=recipe, gp_rows=150, gp_noise_share=None).fit(X, y, Xv, yv)
    assert est.choice_["rows"] == {"gp": 150, "mlp": 300}


def smooth(X: np.ndarray) -> np.ndarray:
    return np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2] * X[:, 3]


def test_above_gp_rows_a_noisy_target_drops_the_gp_after_its_first_search(tmp_path):
    rng = np.random.default_rng(3)
    X, Xv = rng.uniform(0, 1, (400, 5)), rng.uniform(0, 1, (200, 5))
    # noise of std 0.1 on a target of std ~0.4: ~6% of its variance
    y, yv = smooth(X) + 0.1 * rng.standard_normal(400), smooth(Xv) + 0.1 * rng.standard_normal(200)
    recipe = {"epochs": 2, "batch_size": 64, "engine": "fast"}
    settings = {"recipe": recipe, "gp_rows": 150, "gp_select_rows": 100, "seed": 3}
    est = Interpolator(**settings).fit(X, y, Xv, yv)
    screen = est.choice_["screen"]
    assert screen["rows"] == 100 and 1e-2 < screen["noise_share"] < 0.2
    assert est.choice_["chosen"] == "mlp" and list(est.choice_["val_mse"]) == ["mlp"]
    assert list(est.choice_["fit_s"]) == ["mlp"] and "the GP was dropped" in est.choice_["why"]
    est.save(tmp_path / "m.pt")  # the screen is part of the record the file keeps
    assert Interpolator.load(tmp_path / "m.pt").choice_ == json.loads(json.dumps(est.choice_))
    # a share above the screen's keeps it, and None screens nothing
    kept = Interpolator(**settings, gp_noise_share=0.5).fit(X, y, Xv, yv)
    assert "gp" in kept.choice_["val_mse"] and kept.choice_["rows"]["gp"] == 150
    assert kept.choice_["screen"]["noise_share"] == screen["noise_share"]
    unscreened = Interpolator(**settings, gp_noise_share=None).fit(X, y, Xv, yv)
    assert "screen" not in unscreened.choice_ and "gp" in unscreened.choice_["val_mse"]
    # at most gp_rows rows the GP sees them all: no screen
    small = Interpolator(**{**settings, "gp_rows": 400}).fit(X, y, Xv, yv)
    assert "screen" not in small.choice_ and "gp" in small.choice_["val_mse"]


def test_a_noise_free_target_keeps_the_gp_and_its_search_starts_at_the_screens(monkeypatch):
    starts = []
    refine = GaussianProcess._refine

    def spy(self, f, theta, *args):
        starts.append(np.array(theta))
        return refine(self, f, theta, *args)

    monkeypatch.setattr(GaussianProcess, "_refine", spy)
    rng = np.random.default_rng(4)
    X, Xv = rng.uniform(0, 1, (400, 5)), rng.uniform(0, 1, (200, 5))
    recipe = {"epochs": 2, "batch_size": 64, "engine": "fast"}
    est = Interpolator(recipe=recipe, gp_rows=150, gp_select_rows=100, seed=4)
    est.fit(X, smooth(X), Xv, smooth(Xv))
    assert est.choice_["screen"]["noise_share"] < 1e-6 and est.choice_["chosen"] == "gp"
    # the screen was the GP's first search, on the same rows: not run again, its optimum
    # the refine's start
    params = est.chosen_.get_params()
    assert params["first_search"] is False
    assert isinstance(params["theta0"], list) and len(params["theta0"]) == 6
    assert est.chosen_.likelihood_evaluations_ <= 12  # the refine's 10, its starts' 2
    assert len(starts) == 1 and np.array_equal(starts[0], params["theta0"])


@pytest.mark.parametrize("share", [0, 1.5, True, "1e-3"])
def test_a_bad_gp_noise_share_is_refused(share):
    X, y, Xv, yv = split(oblique_hinge, 60)
    with pytest.raises(ValueError, match="auto: gp_noise_share must be in"):
        Interpolator(gp_noise_share=share).fit(X, y, Xv, yv)


@pytest.mark.parametrize("which", ["gp_choice", "mlp_choice", "blend_choice"])
def test_save_and_load_keep_the_choice_and_the_predictions(which, request, tmp_path):
    est, X = request.getfixturevalue(which)
    est.save(tmp_path / "m.pt")
    back = Interpolator.load(tmp_path / "m.pt")
    assert isinstance(back, Interpolator) and back.choice_ == json.loads(json.dumps(est.choice_))
    # a GP is solved again on load, on however many BLAS threads the caller has (the fit
    # ran on one): near interpolation its predictions carry that rounding, ~1e-9 of ŷ
    np.testing.assert_allclose(back.predict(X[:50]), est.predict(X[:50]), rtol=1e-7, atol=0)
    # off the training rows (on them a GP's std is ~0, rounding alone)
    mean, std = back.predict(X[-50:], return_std=True)
    np.testing.assert_allclose(std, est.predict(X[-50:], return_std=True)[1], rtol=1e-5)
    assert (std > 0).all()
    # the fast path is rebuilt on load
    assert back.predict(X[0]) == pytest.approx(est.predict(X[0]), rel=1e-7)


def test_a_file_whose_choice_does_not_match_its_model_is_refused(gp_choice, tmp_path):
    est, _ = gp_choice
    est.save(tmp_path / "m.pt")
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    meta = json.loads(blob["metadata"])
    meta["state"]["choice"]["chosen"] = "mlp"
    blob["metadata"] = json.dumps(meta)
    torch.save(blob, tmp_path / "bad.pt")
    with pytest.raises(DataError, match=r"bad\.pt: state\.parts holds \['gp'\], the choice"):
        Method.load(tmp_path / "bad.pt")
    meta["state"]["choice"]["chosen"] = "gp"
    del meta["state"]["parts"][0]["x_scaler"]
    blob["metadata"] = json.dumps(meta)
    torch.save(blob, tmp_path / "bad2.pt")
    with pytest.raises(DataError, match=r"state\.parts\[0\]: metadata key\(s\) \['x_scaler'\]"):
        Method.load(tmp_path / "bad2.pt")


def test_the_mlp_fast_path_is_the_plain_path(mlp_choice):
    est, X = mlp_choice
    assert est._fast is not None
    scale = float(np.std(est.predict(X)))
    for x in X[:20]:
        # the plain path multiplies in float32, the fast one in float64
        assert est.predict(x) == pytest.approx(est.predict_plain(x), abs=1e-5 * scale)
    grads = est.predict_grad(X[:20])  # the plain batch path: autograd through the network
    fast = np.array([est.predict_grad(x) for x in X[:20]])
    np.testing.assert_allclose(fast, grads, atol=1e-4 * np.abs(grads).max())


def test_the_gp_fast_path_is_the_plain_path(gp_choice):
    est, X = gp_choice
    fast_path = est._fast
    assert isinstance(fast_path, GPPoint)
    for x in X[200:220]:
        # both sum Σ α_j R_j in float64, in another order: near interpolation α is large
        # (noise ratio ~1e-14), so the rounding is relative to Σ |α_j R_j|, not to ŷ
        r = fast_path._rows(x, False)[0]
        magnitude = float(np.abs(fast_path.alpha * r).sum())
        assert est.predict(x) == pytest.approx(est.predict_plain(x), abs=1e-9 * magnitude)
    grads = est.predict_grad(X[200:220])
    fast = np.array([est.predict_grad(x) for x in X[200:220]])
    np.testing.assert_allclose(fast, grads, rtol=1e-6, atol=1e-8 * np.abs(grads).max())


def test_the_gp_batch_path_is_its_numpy_form(gp_choice):
    est, X = gp_choice
    (part,), (batch,) = est.parts_, est._batch
    if batch is None:
        pytest.skip("the native library cannot be built here (no C compiler)")
    Xs = est.x_scaler_.transform(X)
    compiled = est._inner(part, Xs, False, batch)
    numpy = est._inner(part, Xs, False)
    # the same sum in another order: rounding relative to Σ |α_j R_j| (see above)
    magnitude = np.array([np.abs(batch.alpha * batch._rows(x, False)[0]).sum() for x in Xs])
    assert np.all(np.abs(compiled - numpy) <= 1e-9 * magnitude * float(part.y_scaler_.scale))
    # predict takes it; the variance stays numpy's
    out, std = est.predict(X[:50], return_std=True)
    np.testing.assert_array_equal(out, est.y_scaler_.inverse_transform(compiled[:50]))
    assert np.isfinite(std).all()


def test_one_models_batch_is_standardised_once_and_predicts_as_in_two_steps(
    mlp_choice, gp_choice, blend_choice, tmp_path
):
    # the MLP: the default's standardisation and its own composed into one (_direct); the
    # two-step path (each part's own, on the default's: _inner) beside it
    est, X = mlp_choice
    assert est._direct is not None
    two_steps = est.y_scaler_.inverse_transform(est._predict(est.x_scaler_.transform(X)))
    # the float32 network's inputs from float64 values a rounding apart (measured: equal)
    np.testing.assert_allclose(est.predict(X), two_steps, rtol=1e-6)
    est.save(tmp_path / "m.pt")
    assert Interpolator.load(tmp_path / "m.pt")._direct is not None  # rebuilt on load
    # a GP with its compiled batch path, and a blend, keep theirs
    for est, _ in (gp_choice, blend_choice):
        assert est._direct is None or est._batch == [None]


def test_the_fast_path_leaves_other_points_to_the_plain_path(gp_choice):
    est, X = gp_choice
    with pytest.raises(DataError, match="NaN/inf"):
        est.predict(np.full(5, np.nan))
    assert est.predict(X[0].tolist()) == pytest.approx(est.predict(X[0]), rel=1e-9)
    assert isinstance(est.predict(X[0].astype(np.float32)), float)


@pytest.mark.parametrize(
    ("kernel", "nu"),
    [("product_matern", 2.5), ("product_matern", 1.5), ("matern", 2.5), ("sqexp", 2.5)],
)
def test_the_gp_gradient_is_the_finite_difference_of_its_prediction(kernel, nu):
    X, y, _ = get_function("synthetic5d").sample(120, 3)
    gp = GaussianProcess(kernel=kernel, nu=nu, noise_floor=1e-6).fit(X, y)
    pts = np.random.default_rng(4).uniform(0.1, 0.9, (6, 5))
    h = 1e-6
    fd = np.array(
        [
            [(gp.predict(p + h * e) - gp.predict(p - h * e)) / (2 * h) for e in np.eye(5)]
            for p in pts
        ]
    )
    np.testing.assert_allclose(gp.predict_grad(pts), fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())
    assert gp.predict_grad(pts[0]).shape == (5,)


def test_clone_and_settings():
    est = Interpolator(gp_select_rows=50, seed=3)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "choice_")
    with pytest.raises(ValueError, match="auto: gp_rows must be a whole number >= 1"):
        Interpolator(gp_rows=0).fit(*split(oblique_hinge, 40)[:2])
    for bad in (-1.0, "1", True, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="auto: se_rule must be a number from 0 to 1000"):
            Interpolator(se_rule=bad).fit(*split(oblique_hinge, 40)[:2])


def test_the_runner_measures_it_and_records_the_choice():
    from interp5d import Dataset, build_method, profile_run

    X, y, f = get_function("borehole").sample(200, 5)
    method = build_method({"class": "auto", "settings": {"gp_select_rows": 60}}, seed=5, threads=1)
    rec, est = profile_run(Dataset(X, y, f), method, 5, latency_repeats=3, throughput_points=0)
    assert rec["auto_choice"] == est.choice_["chosen"] == "gp"
    assert set(rec["auto_val_mse"]) == set(rec["auto_val_se"]) == {"gp", "mlp", "blend"}
    assert rec["auto_why"] == est.choice_["why"]
    assert rec["auto_rows"]["gp"] == rec["n_train"] and rec["auto_screen"] is None
    assert rec["r2"] > 0.99 and rec["coverage_95"] is not None
    # above gp_rows, what the GP's screen found is in the record
    settings = {"gp_select_rows": 60, "gp_rows": 100}
    method = build_method({"class": "auto", "settings": settings}, seed=5, threads=1)
    rec, est = profile_run(Dataset(X, y, f), method, 5, latency_repeats=3, throughput_points=0)
    assert rec["auto_screen"] == est.choice_["screen"] and rec["auto_screen"]["rows"] == 60


def test_a_blend_is_the_mean_of_its_two_and_its_fast_path_the_plain_path(blend_choice):
    est, X = blend_choice
    assert est.choice_["chosen"] == "blend" and [p.name for p in est.parts_] == ["gp", "mlp"]
    gp, mlp = est.parts_
    Xs = est.x_scaler_.transform(X[:20])
    both = [est.y_scaler_.inverse_transform(p.predict(Xs)) for p in (gp, mlp)]
    # the GP's part in its compiled loop, the same sum in another order than p.predict's
    np.testing.assert_allclose(est.predict(X[:20]), (both[0] + both[1]) / 2, rtol=1e-9)
    scale = float(np.std(est.predict(X)))
    for x in X[:20]:
        assert est.predict(x) == pytest.approx(est.predict_plain(x), abs=1e-5 * scale)
    grads = est.predict_grad(X[:20])
    fast = np.array([est.predict_grad(x) for x in X[:20]])
    np.testing.assert_allclose(fast, grads, atol=1e-4 * np.abs(grads).max())
    # its std: the two's spread plus its validation residual
    _, std = est.predict(X[:20], return_std=True)
    spread = ((both[0] - both[1]) / 2) ** 2
    np.testing.assert_allclose(std**2, spread + est.noise_var_ * est.y_scaler_.scale**2, rtol=1e-9)


def test_the_gps_wide_search_for_noisy_targets_follows_gp_noise_share():
    # at most gp_rows, the share that drops the GP above it widens its refine instead
    assert Interpolator().candidates(500)["gp"].noisy_search == 1e-3
    assert Interpolator(gp_noise_share=0.01).candidates(500)["gp"].noisy_search == 0.01
    assert Interpolator(gp_noise_share=None).candidates(500)["gp"].noisy_search is None
