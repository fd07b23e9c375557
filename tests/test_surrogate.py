"""A surrogate people can trust: named features, predictive uncertainty and its
calibration, sampling plans, the Gaussian process, gradients."""

import numpy as np
import pandas as pd
import pytest
from interp5d import DataError, Dataset, MLPInterpolator, build_method, get_function, profile_run
from interp5d.bench.quality import QualityMonitor
from interp5d.data import load_dataset
from interp5d.functions import unit_points
from interp5d.methods.base import Method
from interp5d.metrics import Z95, calibration
from interp5d.predict import predict_file

NAMES = ["u", "v", "w", "t", "p"]
SMALL = {"epochs": 8, "batch_size": 64, "lr": 0.01}


@pytest.fixture(scope="module")
def named():
    """A model fitted on a table with named columns, and its data."""
    X, y, _ = get_function("friedman1").sample(500, seed=4)
    frame = pd.DataFrame(X, columns=NAMES)
    target = pd.Series(y, name="power")
    est = MLPInterpolator(SMALL, seed=0).fit(frame[:400], target[:400], frame[400:], target[400:])
    return est, frame, y


def test_named_features_are_kept_and_matched_by_name(named, tmp_path):
    est, frame, _ = named
    assert est.feature_names == NAMES and est.target_name_ == "power"
    ref = est.predict(frame)
    shuffled = frame[["p", "w", "u", "t", "v"]]
    assert np.array_equal(est.predict(shuffled), ref)  # reordered columns: the same
    assert np.array_equal(est.predict(frame.to_numpy()), ref)  # an array: training order
    est.save(tmp_path / "m.pt")
    back = Method.load(tmp_path / "m.pt")
    assert back.feature_names == NAMES and back.target_name_ == "power"
    assert np.array_equal(back.predict(shuffled), ref)


def test_mismatched_names_are_refused_naming_the_columns(named):
    est, frame, _ = named
    bad = frame.rename(columns={"u": "x", "p": "q"})
    with pytest.raises(DataError, match=r"missing \['u', 'p'\], unexpected \['x', 'q'\]"):
        est.predict(bad)
    with pytest.raises(DataError, match=r"missing \['p'\], unexpected \[\]"):
        est.out_of_range(frame[NAMES[:4]])


def test_prediction_files_match_columns_by_name(named, tmp_path):
    est, frame, _ = named
    est.save(tmp_path / "m.pt")
    frame[["t", "p", "u", "v", "w"]].head(7).to_csv(tmp_path / "shuffled.csv", index=False)
    out = predict_file(tmp_path / "m.pt", tmp_path / "shuffled.csv", tmp_path / "out.csv")
    assert list(out.columns) == [*NAMES, "prediction", "std", "out_of_range"]
    np.testing.assert_array_equal(out["prediction"], est.predict(frame.head(7)))
    assert (out["std"] > 0).all()
    frame.rename(columns={"w": "ww"}).head(3).to_csv(tmp_path / "wrong.csv", index=False)
    with pytest.raises(DataError, match=r"wrong.csv: .*missing \['w'\], unexpected \['ww'\]"):
        predict_file(tmp_path / "m.pt", tmp_path / "wrong.csv", tmp_path / "out.csv")
    # an unnamed model takes a CSV's five columns in order
    X, y, _ = get_function("friedman1").sample(300, seed=5)
    unnamed = MLPInterpolator(SMALL, seed=0).fit(X[:200], y[:200], X[200:], y[200:])
    unnamed.save(tmp_path / "u.pt")
    out = predict_file(tmp_path / "u.pt", tmp_path / "wrong.csv", tmp_path / "out.csv")
    assert list(out.columns)[:5] == ["u", "v", "ww", "t", "p"]
    np.testing.assert_array_equal(out["prediction"], unnamed.predict(frame.head(3).to_numpy()))


def test_the_predictions_do_not_depend_on_the_points_memory_layout(named):
    # a DataFrame's values are column-major: the same points, the same predictions
    est, frame, _ = named
    for m in (7, 500):  # the matmul's kernel depends on the rows too
        X = frame.head(m).to_numpy()
        rows_first = est.predict(np.ascontiguousarray(X))
        assert np.array_equal(est.predict(np.asfortranarray(X)), rows_first)
        assert np.array_equal(est.predict(frame.head(m)), rows_first)


def test_csv_datasets_give_named_models_through_the_runner(tmp_path):
    X, y, f = get_function("friedman1").sample(300, seed=6)
    pd.DataFrame(X, columns=NAMES).assign(power=y).to_csv(tmp_path / "d.csv", index=False)
    ds = load_dataset(tmp_path / "d.csv", target_column="power")
    assert ds.feature_names == NAMES
    _, est = profile_run(ds, MLPInterpolator(SMALL), 0, latency_repeats=3, throughput_points=100)
    assert est.feature_names == NAMES and est.target_name_ == "power"


def test_coverage_by_hand():
    y = np.array([0.0, 1.0, 2.0, 10.0])
    mean = np.array([0.5, 1.0, 2.0, 0.0])
    std = np.array([1.0, 1.0, 0.1, 1.0])  # inside: |0.5| <= 1.96, 0 <= 1.96, 0 <= 0.196; 10 no
    f = np.array([0.0, 3.0, 2.0, 0.0])  # inside: yes, no (2 > 1.96), yes, yes
    got = calibration(y, mean, std, f)
    assert got["coverage_95"] == 0.75 and got["coverage_95_f"] == 0.75
    assert got["interval_width_95"] == pytest.approx(2 * Z95 * 3.1 / 4)
    assert calibration(y, mean, std)["coverage_95_f"] is None


def test_ensemble_std_holds_spread_and_residual(tmp_path):
    X, y, f = get_function("synthetic5d").sample(1500, seed=7)
    one = MLPInterpolator(SMALL, seed=3).fit(X[:1000], y[:1000], X[1000:1250], y[1000:1250])
    ens = MLPInterpolator({**SMALL, "members": 4}, seed=3).fit(
        X[:1000], y[:1000], X[1000:1250], y[1000:1250]
    )
    # the first member is the single network (the same seed); the ensemble is their mean
    np.testing.assert_array_equal(
        ens.members_[0](torch_rows(ens, X[:5])).detach(),
        one.model_(torch_rows(one, X[:5])).detach(),
    )
    mean, std = ens.predict(X[1250:], return_std=True)
    members = np.array(
        [m(torch_rows(ens, X[1250:])).detach().squeeze(1).double().numpy() for m in ens.members_]
    )
    np.testing.assert_allclose(mean, ens.y_scaler_.inverse_transform(members.mean(0)), rtol=1e-6)
    spread = members.var(0) * ens.y_scaler_.scale**2
    np.testing.assert_allclose(std**2, spread + ens.noise_var_ * ens.y_scaler_.scale**2, rtol=1e-5)
    # a single network's std is the validation residual alone: one width everywhere
    _, std1 = one.predict(X[1250:], return_std=True)
    assert np.ptp(std1) == 0 and std1[0] ** 2 == pytest.approx(
        np.mean((one.predict(X[1000:1250]) - y[1000:1250]) ** 2)
    )
    ens.save(tmp_path / "e.pt")
    back = MLPInterpolator.load(tmp_path / "e.pt")
    assert len(back.members_) == 4
    np.testing.assert_array_equal(
        back.predict(X[:9], return_std=True)[1], ens.predict(X[:9], return_std=True)[1]
    )
    no_val = MLPInterpolator(SMALL).fit(X[:300], y[:300])
    with pytest.raises(ValueError, match="fitted without validation data"):
        no_val.predict(X[:3], return_std=True)


def torch_rows(est, X):
    import torch

    return torch.as_tensor(est.x_scaler_.transform(X), dtype=torch.float32)


@pytest.mark.parametrize("members", [1, 3])
def test_gradients_match_finite_differences(members):
    X, y, _ = get_function("friedman1").sample(600, seed=8)
    est = MLPInterpolator({**SMALL, "activation": "tanh", "members": members}, seed=1).fit(X, y)
    pts = X[:6]
    grad = est.predict_grad(pts)
    h = 1e-3
    fd = np.empty_like(pts)
    for j in range(5):
        step = np.zeros(5)
        step[j] = h
        fd[:, j] = (est.predict(pts + step) - est.predict(pts - step)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=2e-2, atol=2e-2)
    assert est.predict_grad(pts[0]).shape == (5,)


def test_sampling_plans_are_seeded_and_space_filling():
    rng = np.random.default_rng
    for plan in ("uniform", "lhs", "sobol"):
        a, b = unit_points(plan, 64, rng(3)), unit_points(plan, 64, rng(3))
        assert np.array_equal(a, b) and a.shape == (64, 5)
        assert not np.array_equal(a, unit_points(plan, 64, rng(4)))
        assert (a >= 0).all() and (a < 1).all()
    # a Latin hypercube puts one point in each of n strata of every input
    lhs = unit_points("lhs", 50, rng(0))
    assert all(len(set((lhs[:, j] * 50).astype(int))) == 50 for j in range(5))
    # a (scrambled) Sobol' sequence of 2^k points is balanced: equal counts in each half
    sob = unit_points("sobol", 64, rng(0))
    assert all((sob[:, j] < 0.5).sum() == 32 for j in range(5))
    fn = get_function("styblinski_tang")
    X, _, _ = fn.sample(100, 1, plan="sobol")
    assert X.min() >= fn.low and X.max() <= fn.high
    with pytest.raises(ValueError, match="unknown sampling plan 'grid'"):
        unit_points("grid", 4, rng(0))


def test_gaussian_process_through_the_runner():
    X, y, f = get_function("synthetic5d").sample(400, seed=9)
    gp = build_method({"class": "gp", "settings": {"select_rows": 100}}, seed=9)
    rec, est = profile_run(Dataset(X, y, f), gp, 9, latency_repeats=3, throughput_points=200)
    assert rec["status"] == "ok" and rec["r2"] > 0.5 and len(rec["gp_length_scales"]) == 5
    assert rec["gp_noise_ratio"] > 0 and rec["gp_likelihood_evaluations"] > 0
    assert 0.5 < rec["coverage_95"] <= 1 and rec["interval_width_95"] > 0
    mean, std = est.predict(X[:10], return_std=True)
    assert mean.shape == std.shape == (10,) and (std > 0).all()
    with pytest.raises(ValueError, match="gp: 280 training rows exceed max_rows=100"):
        profile_run(
            Dataset(X, y, f), build_method({"class": "gp", "settings": {"max_rows": 100}}), 9
        )


def test_a_monitor_without_targets_never_stops_a_fit():
    mon = QualityMonitor([])
    mon.start()
    assert not mon.observe(1.0)
