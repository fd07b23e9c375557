import numpy as np
import pytest
from interp5d import Dataset, build_method, get_function, profile_run
from interp5d.data import DataError
from interp5d.methods.base import Method

pytest.importorskip("smt")


def small_data(n=60, seed=3):
    X, y, f = get_function("borehole").sample(n, seed)
    return Dataset(X, y, f)


@pytest.fixture(scope="module")
def krg_run():
    # a cheap search (2 starts) on 42 training rows: the runner's path, as the study runs it
    method = build_method({"class": "krg", "settings": {"n_start": 2}}, seed=3)
    return profile_run(small_data(), method, 3, latency_repeats=3, throughput_points=200)


def test_krg_runs_through_the_runner(krg_run):
    rec, est = krg_run
    assert rec["status"] == "ok" and rec["n_train"] == 42 and est.name == "krg"
    assert rec["fit_time_s"] > 0 and np.isfinite(rec["r2"]) and rec["r2"] > 0.5
    # what it chose goes into the record: one length-scale parameter per input
    assert len(rec["krg_theta"]) == 5 and all(t > 0 for t in rec["krg_theta"])
    assert rec["krg_noise"] == 0.0
    # its own predictive variance: near zero at a training point, positive between
    X = small_data().X
    _, std = est.predict(X[:60], return_std=True)
    assert est.has_std() and np.isfinite(std).all() and std.max() > 0


def test_krg_interpolates_and_is_quiet(capsys):
    X, y, _ = get_function("tp_exp").sample(40, seed=1)
    est = build_method({"class": "krg", "settings": {"n_start": 1}}, seed=1).fit(X, y)
    assert capsys.readouterr().out == ""  # print_global=False: SMT says nothing
    np.testing.assert_allclose(est.predict(X), y, rtol=1e-5, atol=1e-6)


def test_krg_saves_and_loads(krg_run, tmp_path):
    _, est = krg_run
    est.save(tmp_path / "krg.pt")
    back = Method.load(tmp_path / "krg.pt")
    assert type(back) is type(est) and back.get_params() == est.get_params()
    X = small_data().X[:20]
    np.testing.assert_allclose(back.predict(X), est.predict(X), rtol=1e-9)
    np.testing.assert_allclose(
        back.predict(X, return_std=True)[1], est.predict(X, return_std=True)[1], rtol=1e-7
    )
    np.testing.assert_array_equal(back.theta_, est.theta_)


def test_krg_refuses_too_many_rows_and_bad_settings():
    ds = small_data()
    with pytest.raises(ValueError, match="krg: 42 training rows exceed max_rows=30"):
        profile_run(ds, build_method({"class": "krg", "settings": {"max_rows": 30}}), 3)
    with pytest.raises(ValueError, match="unknown corr 'gauss'"):
        build_method({"class": "krg", "settings": {"corr": "gauss"}}).fit(ds.X, ds.y)


def test_krg_noise_is_fitted_and_in_its_std(tmp_path):
    X, y, _ = get_function("friedman1").sample(80, seed=2)
    est = build_method({"class": "krg", "settings": {"n_start": 1, "eval_noise": True}}, seed=2)
    est.fit(X, y)
    assert est.noise_ > 0
    # with noise, the std of y at a training point is at least the noise's
    _, std = est.predict(X[:5], return_std=True)
    sigma2 = float(np.ravel(est.model_.optimal_par["sigma2"])[0])
    assert (std >= 0.99 * np.sqrt(est.noise_ * sigma2) * est.y_scaler_.scale).all()
    est.save(tmp_path / "k.pt")
    np.testing.assert_allclose(Method.load(tmp_path / "k.pt").predict(X[:5]), est.predict(X[:5]))


def test_a_damaged_krg_file_is_refused(krg_run, tmp_path):
    import json

    import torch

    _, est = krg_run
    est.save(tmp_path / "ok.pt")
    blob = torch.load(tmp_path / "ok.pt", weights_only=True)
    blob["arrays"]["theta"] = blob["arrays"]["theta"][:3]
    torch.save(blob, tmp_path / "bad.pt")
    with pytest.raises(DataError, match="array 'theta' has shape"):
        Method.load(tmp_path / "bad.pt")
    blob = torch.load(tmp_path / "ok.pt", weights_only=True)
    meta = json.loads(blob["metadata"])
    meta["state"]["noise"] = -1.0
    blob["metadata"] = json.dumps(meta)
    torch.save(blob, tmp_path / "bad2.pt")
    with pytest.raises(DataError, match="state.noise"):
        Method.load(tmp_path / "bad2.pt")
