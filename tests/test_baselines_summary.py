import numpy as np
import pandas as pd
import pytest
from interp5d import Dataset, get_function
from interp5d.baselines import run_baseline
from interp5d.summary import by_size, loglog_slope, markdown, read_runs, scaling_exponents

from .test_workflow import planned


def linear_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 5))
    f = X @ np.array([1.0, -2.0, 0.5, 3.0, 0.0]) + 4.0
    return Dataset(X, f + 0.01 * rng.standard_normal(n), f)


def test_ols_recovers_a_linear_function():
    rec = run_baseline(linear_data(), "ols", seed=0)
    assert rec["r2"] > 0.999 and rec["n_train"] + rec["n_val"] + rec["n_test"] == 200
    assert rec["status"] == "ok" and rec["train_time_s"] >= 0 and rec["oracle_r2"] > 0.999


def test_sklearn_mlp_and_rbf_fit_a_smooth_function():
    X, y, f = get_function("synthetic5d").sample(400, seed=1)
    ds = Dataset(X, y, f)
    mlp = run_baseline(ds, "sklearn_mlp", seed=1, settings={"max_iter": 50})
    assert mlp["epochs_run"] <= 50 and np.isfinite(mlp["r2"])
    rbf = run_baseline(ds, "rbf", seed=1, settings={"smoothing": [1e-3, 1.0]})
    assert rbf["baseline_settings"]["smoothing_chosen"] in (1e-3, 1.0) and rbf["r2"] > 0.3
    with pytest.raises(ValueError, match="rbf: 280 training rows exceed max_rows=100"):
        run_baseline(ds, "rbf", seed=1, settings={"max_rows": 100})
    with pytest.raises(ValueError, match="unknown baseline 'knn'"):
        run_baseline(ds, "knn", seed=1)


def test_loglog_slope_and_scaling_exponents():
    n = pd.Series([1e3, 1e4, 1e5])
    assert loglog_slope(n, 2.0 * n**0.5) == pytest.approx(0.5)
    assert np.isnan(loglog_slope(n[:2], n[:2]))
    stats = pd.DataFrame(
        {
            "function": "f",
            "recipe": "r",
            "n_samples": n,
            "train_time_s_mean": 1e-3 * n,
            "train_peak_mb_mean": 3.0,
        }
    )
    exps = scaling_exponents(stats)
    assert exps["time_exponent"].item() == pytest.approx(1.0)
    assert exps["memory_exponent"].item() == pytest.approx(0.0, abs=1e-12)


def test_read_runs_with_benchmarks_and_markdown(tmp_path):
    import json

    paths, benches = [], []
    for i, (n, status, r2) in enumerate(
        [(100, "ok", 0.9), (100, "diverged", None), (1000, "ok", 0.95)]
    ):
        p = tmp_path / f"m{i}.json"
        p.write_text(
            json.dumps(
                {
                    "function": "f",
                    "recipe": "r",
                    "n_samples": n,
                    "seed": i,
                    "status": status,
                    "r2": r2,
                    "train_time_s": 0.1 * (i + 1),
                    "train_peak_mb": 1.0,
                    "mse": 0.1,
                }
            )
        )
        b = tmp_path / f"b{i}.tsv"
        b.write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t300.25\n")
        paths.append(p)
        benches.append(b)
    runs = read_runs(paths, benches)
    assert runs["job_max_rss_mb"].tolist() == [300.25] * 3
    stats = by_size(runs)
    small = stats[stats["n_samples"] == 100].iloc[0]
    assert small["n_runs"] == 2 and small["n_diverged"] == 1 and small["r2_mean"] == 0.9
    md = markdown(stats)
    assert "(1/2 diverged)" in md and "## f" in md
    with pytest.raises(ValueError, match="3 metrics files but 1 benchmark"):
        read_runs(paths, benches[:1])


@pytest.mark.workflow
def test_baselines_plan_and_rbf_size_limit(tmp_path):

    import yaml

    from .conftest import copy_workflow, snakemake
    from .test_workflow import TINY

    d = copy_workflow(tmp_path)
    (d / "config.yaml").write_text(yaml.safe_dump({**TINY, "sizes": [60, 30000]}))
    # a dry run from scratch: rbf leaves out the size whose training split exceeds max_rows
    cfg = {**TINY, "sizes": [60, 30000], "baselines": {"ols": {}, "rbf": None}}
    (d / "b.yaml").write_text(yaml.safe_dump(cfg))
    plan = planned(d, "--configfile", str(d / "b.yaml"))
    # 2 sizes x 2 seeds: ols 4 jobs, rbf only n=60: 2 jobs
    assert plan["baseline_profile"] == 6 and plan["train_profile"] == 8
    bad = {**TINY, "baselines": {"knn": {}}}
    (d / "bad.yaml").write_text(yaml.safe_dump(bad))
    res = snakemake(d, "-n", "--configfile", str(d / "bad.yaml"), check=False)
    assert (
        res.returncode != 0
        and "'knn' is not one of ['ols', 'sklearn_mlp', 'rbf']" in res.stdout + res.stderr
    )
