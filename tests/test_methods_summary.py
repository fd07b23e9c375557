import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from interp5d import Dataset, build_method, get_function, profile_run
from interp5d.methods import BASELINES, REGISTRY, method_class
from interp5d.methods.base import Method
from interp5d.report.samples import (
    error_ratio_markdown,
    error_ratios,
    samples_markdown,
    samples_to_quality,
    which_markdown,
    which_method,
)
from interp5d.report.summary import by_size, loglog_slope, markdown, read_runs, scaling_exponents

from .conftest import REPO
from .test_workflow import planned

# the fields every run's record has, whatever the method (the README's measurement table)
COMMON = [
    "n_samples",
    "seed",
    "status",
    "fit_time_s",
    "train_peak_mb",
    "predict_peak_mb",
    "predict_latency_s",
    "predict_throughput_per_s",
    "predict_throughput_100k_per_s",
    "mse",
    "rmse",
    "mae",
    "r2",
    "oracle_r2",
    "r2_vs_f",
]


def run(ds, cls, seed=0, **settings):
    method = build_method({"class": cls, "settings": settings}, seed=seed)
    return profile_run(ds, method, seed, latency_repeats=3, throughput_points=500)


def linear_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 5))
    f = X @ np.array([1.0, -2.0, 0.5, 3.0, 0.0]) + 4.0
    return Dataset(X, f + 0.01 * rng.standard_normal(n), f)


def test_ols_recovers_a_linear_function():
    rec, _ = run(linear_data(), "ols")
    assert rec["r2"] > 0.999 and rec["n_train"] + rec["n_val"] + rec["n_test"] == 200
    assert rec["status"] == "ok" and rec["fit_time_s"] >= 0 and rec["oracle_r2"] > 0.999


def test_sklearn_mlp_and_rbf_fit_a_smooth_function():
    X, y, f = get_function("synthetic5d").sample(400, seed=1)
    ds = Dataset(X, y, f)
    mlp, _ = run(ds, "sklearn_mlp", seed=1, max_iter=50)
    assert mlp["epochs_run"] <= 50 and np.isfinite(mlp["r2"])
    rbf, _ = run(ds, "rbf", seed=1, smoothing=[1e-3, 1.0])
    assert rbf["smoothing_chosen"] in (1e-3, 1.0) and rbf["r2"] > 0.3
    with pytest.raises(ValueError, match="rbf: 280 training rows exceed max_rows=100"):
        run(ds, "rbf", seed=1, max_rows=100)
    with pytest.raises(ValueError, match="unknown method 'knn'"):
        run(ds, "knn")
    with pytest.raises(ValueError, match=r"rbf: unknown setting\(s\) \['smooth'\]"):
        run(ds, "rbf", smooth=[1.0])


@pytest.fixture(scope="module")
def every_method():
    """One run of each method of the registry on the same small dataset."""
    X, y, f = get_function("synthetic5d").sample(300, seed=2)
    settings = {"mlp": {"recipe": {"epochs": 5, "batch_size": 64}}, "sklearn_mlp": {"max_iter": 5}}
    out = {}
    for name in REGISTRY:
        s = settings.get(name, {})
        spec = {"class": name, "settings": s.get("recipe", s)}
        out[name] = profile_run(
            Dataset(X, y, f),
            build_method(spec, seed=2),
            2,
            latency_repeats=3,
            throughput_points=500,
        )
    return X, out


def test_every_method_is_measured_alike(every_method):
    _, runs = every_method
    for name, (rec, est) in runs.items():
        assert isinstance(est, Method) and est.name == name
        for key in COMMON:
            assert key in rec and rec[key] is not None, (name, key)
        assert rec["n_train"] == 210 and rec["n_test"] == 45 and rec["status"] == "ok", name
        assert rec["fit_time_s"] > 0 and rec["predict_throughput_per_s"] > 0, name
        assert rec["memory_method"] == runs["mlp"][0]["memory_method"]
    # the MLP adds its loop's own measures beside the common ones
    mlp = runs["mlp"][0]
    assert 0 < mlp["loop_time_s"] <= mlp["fit_time_s"] and mlp["loop_estimate_mb"] > 0
    # and its step's products timed right after it; methods without such a loop, none
    assert mlp["roofline_paired_gflops_per_s"] > 0
    for name, (rec, _) in runs.items():
        if name != "mlp":
            assert rec["roofline_paired_gflops_per_s"] is None, name


def test_every_method_saves_and_loads(every_method, tmp_path):
    X, runs = every_method
    for name, (_, est) in runs.items():
        est.save(tmp_path / f"{name}.pt")
        back = Method.load(tmp_path / f"{name}.pt")

        # the same settings (as JSON holds them; a recipe comes back spelled out, so its
        # settings are compared one by one)
        def settings(e):
            return json.loads(
                json.dumps({k: v for k, v in e.get_params().items() if k != "recipe"})
            )

        assert type(back) is type(est) and settings(back) == settings(est), name
        # kernel methods solve again on load: BLAS with another thread count may sum in
        # another order, so equal to float64 rounding, not bit for bit
        np.testing.assert_allclose(back.predict(X[:20]), est.predict(X[:20]), rtol=1e-9)


def test_schema_defaults_are_the_classes_defaults():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    entries = schema["properties"]["baselines"]["properties"]
    assert set(entries) == set(BASELINES) and set(REGISTRY) == {"mlp", *BASELINES}
    for name in BASELINES:
        cls = method_class(name)
        assert cls.name == name
        params = cls().get_params(deep=False)
        schema_defaults = {k: v["default"] for k, v in entries[name].get("properties", {}).items()}
        # every setting but the run's own (seed; the default's threads, device and logging,
        # as the MLP's recipes have them) is in the schema, with the class's default
        run_settings = {"seed", "threads", "device", "log_every_s"}
        assert set(schema_defaults) == set(params) - run_settings, name
        for k, v in schema_defaults.items():
            assert v == (list(params[k]) if isinstance(params[k], tuple) else params[k]), (name, k)


def test_loglog_slope_and_scaling_exponents():
    n = pd.Series([1e3, 1e4, 1e5])
    assert loglog_slope(n, 2.0 * n**0.5) == pytest.approx(0.5)
    assert np.isnan(loglog_slope(n[:2], n[:2]))
    stats = pd.DataFrame(
        {
            "dataset": "f",
            "method": "r",
            "n_samples": n,
            "fit_time_s_mean": 1e-3 * n,
            "train_peak_mb_mean": 3.0,
        }
    )
    exps = scaling_exponents(stats)
    assert exps["time_exponent"].item() == pytest.approx(1.0)
    assert exps["memory_exponent"].item() == pytest.approx(0.0, abs=1e-12)


def test_read_runs_with_benchmarks_and_markdown(tmp_path):
    paths, benches = [], []
    for i, (n, status, r2) in enumerate(
        [(100, "ok", 0.9), (100, "diverged", None), (1000, "ok", 0.95)]
    ):
        p = tmp_path / f"m{i}.json"
        p.write_text(
            json.dumps(
                {
                    "dataset": "f",
                    "method": "r",
                    "kind": "recipe",
                    "n_samples": n,
                    "seed": i,
                    "status": status,
                    "r2": r2,
                    "fit_time_s": 0.1 * (i + 1),
                    "train_peak_mb": 1.0,
                    "mse": 0.1,
                    "widths": [5, 8, 1],
                    "batch_rows": n,
                    "threads": 1,
                    "loop_gflops_per_s": 10.0,
                    # the products timed in the run's own job: the first run's is absent
                    "roofline_paired_gflops_per_s": [None, 20.0, 40.0][i],
                }
            )
        )
        b = tmp_path / f"b{i}.tsv"
        b.write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t300.25\n")
        paths.append(p)
        benches.append(b)
    # the roofline of each run's step shape; beyond the largest batch measured, that one's
    env = {
        "roofline": [
            {"widths": [5, 8, 1], "batch": 100, "threads": 1, "gflops_per_s": 40.0},
            {"widths": [5, 8, 1], "batch": 500, "threads": 1, "gflops_per_s": 50.0},
            {"widths": [5, 8, 1], "batch": 100, "threads": 2, "gflops_per_s": 99.0},
        ]
    }
    runs = read_runs(paths, benches, env)
    assert runs["job_max_rss_mb"].tolist() == [300.25] * 3
    assert runs["roofline_gflops_per_s"].tolist() == [40.0, 40.0, 50.0]
    assert runs["loop_efficiency"].tolist() == [0.25, 0.25, 0.2]
    assert runs["loop_efficiency_paired"].tolist()[1:] == [0.5, 0.25]
    assert np.isnan(runs["loop_efficiency_paired"].iloc[0])
    assert read_runs(paths, benches)["loop_efficiency"].isna().all()  # no roofline record
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
    # 2 sizes x 2 seeds: recipes 2 x 4 jobs, ols 4 jobs, rbf only n=60: 2 jobs
    assert plan["train_profile"] == 8 + 4 + 2
    # a GP with solve_rows solves on at most that many rows, whatever the training split
    # (ols, from the config file the dry run merges this one into, still plans its 4)
    gp = {"max_rows": 100, "solve_rows": 50}
    (d / "g.yaml").write_text(yaml.safe_dump({**cfg, "baselines": {"gp": gp}}))
    assert planned(d, "--configfile", str(d / "g.yaml"))["train_profile"] == 8 + 4 + 4
    (d / "g.yaml").write_text(yaml.safe_dump({**cfg, "baselines": {"gp": {"max_rows": 100}}}))
    assert planned(d, "--configfile", str(d / "g.yaml"))["train_profile"] == 8 + 4 + 2
    for bad, message in (
        ({"knn": {}}, "Additional properties are not allowed ('knn' was unexpected)"),
        ({"rbf": {"smooth": [1.0]}}, "Additional properties are not allowed ('smooth' was"),
    ):
        (d / "bad.yaml").write_text(yaml.safe_dump({**TINY, "baselines": bad}))
        res = snakemake(d, "-n", "--configfile", str(d / "bad.yaml"), check=False)
        assert res.returncode != 0 and message in res.stdout + res.stderr


def hand_built_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and their targets on one synthetic dataset whose validation split's ceiling is
    0.98 and test split's 0.99: the target ceiling-0.01 is 0.97 on validation, 0.98 on test.
    `never` reaches it at no size; `median` at 2 of 5 seeds at n = 100 and 3 of 5 at 300, so
    the median decides for 300; `first` at the smallest size; `half` at 2 of 4 seeds, which
    is no median run; `lost` only at runs that diverged or beat the validation's level alone."""
    test_r2 = {
        "never": {100: [0.5] * 5, 300: [0.6] * 5, 1000: [0.7] * 3},
        "median": {100: [0.985, 0.99, 0.9, 0.9, 0.9], 300: [0.985, 0.99, 0.981, 0.9, 0.9]},
        "first": {100: [0.985] * 5, 300: [0.986] * 5},
        "half": {100: [0.985, 0.985, 0.9, 0.9]},
        "lost": {100: [0.985, 0.985, 0.985, 0.975, 0.975]},
    }
    runs, targets = [], []
    for method, sizes in test_r2.items():
        for n, values in sizes.items():
            for seed, r2 in enumerate(values):
                key = dict(dataset="f", n_samples=n, method=method, kind="baseline", seed=seed)
                diverged = method == "lost" and seed < 3
                runs.append(
                    {
                        **key,
                        "status": "diverged" if diverged else "ok",
                        "r2": r2,
                        "oracle_r2": 0.99,
                        "val_oracle_r2": 0.98,
                        "fit_time_s": 0.001 * n + seed,
                    }
                )
                targets.append({**key, "target": "ceiling-0.01", "target_r2": 0.97})
    return pd.DataFrame(runs), pd.DataFrame(targets)


def test_samples_to_quality_takes_the_median_run_and_says_never():
    runs, targets = hand_built_runs()
    stq = samples_to_quality(runs, targets).set_index("method")
    assert stq.loc["first", "n_samples"] == 100 and stq.loc["first", "reached"]
    median = stq.loc["median"]
    assert median["n_samples"] == 300 and median["result"] == "n = 300"
    assert (median["n_reached"], median["n_runs"]) == (3, 5)
    assert median["fit_time_s_median"] == pytest.approx(0.3 + 2)  # all five runs' median
    for method, largest in (("never", 1000), ("half", 100), ("lost", 100)):
        row = stq.loc[method]
        assert not row["reached"] and pd.isna(row["n_samples"])
        assert row["largest_n"] == largest
        assert row["result"] == f"never within the grid (up to n = {largest:,})"
        assert math.isnan(row["fit_time_s_median"])
    assert stq.loc["never", "test_r2_median"] == 0.7  # at the largest size it ran
    md = "\n".join(samples_markdown(stq.reset_index()))
    assert "| median | n = 300 (2.3 s, 3 of 5) |" in md
    assert "| never | never up to n = 1,000 (0 of 3 there) |" in md
    assert samples_to_quality(runs.iloc[:0], targets.iloc[:0]).empty


def test_which_method_per_dataset_and_over_datasets():
    # MSE on a, b and fit seconds: x is the most accurate overall, y within 1.25x and faster
    table = {
        "x": (1.0, 10.0, 1.0),
        "y": (1.2, 12.0, 0.1),
        "z": (5.0, 8.0, 5.0),
        "only_a": (0.9, None, 0.01),  # not run on b: ranked on a alone
        "diverged": (0.1, 0.1, 0.001),  # a diverged run: ranks last
    }
    rows = []
    for method, (mse_a, mse_b, fit) in table.items():
        for ds, mse in (("a", mse_a), ("b", mse_b)):
            if mse is not None:
                rows.append(
                    dict(
                        dataset=ds,
                        n_samples=100,
                        method=method,
                        kind="baseline",
                        n_runs=3,
                        n_diverged=int(method == "diverged"),
                        mse_mean=mse,
                        r2_mean=1 - mse / 100,
                        fit_time_s_mean=fit,
                    )
                )
    which = which_method(pd.DataFrame(rows)).set_index("scope")
    a, b, both = which.loc["a"], which.loc["b"], which.loc["all datasets"]
    assert (a["most_accurate"], a["fastest_within"]) == ("only_a", "only_a")
    assert a["most_accurate_mse"] == 0.9
    assert (b["most_accurate"], b["fastest_within"]) == ("z", "x")  # 10 / 8 = 1.25: within
    assert b["fastest_error_ratio"] == pytest.approx(1.25)
    assert (both["most_accurate"], both["fastest_within"]) == ("x", "y")
    assert both["n_datasets"] == 2 and both["n_methods"] == 3  # x, y, z
    assert both["most_accurate_error_ratio"] == pytest.approx(math.sqrt(10 / 9 * 1.25))
    assert both["fastest_fit_s"] == pytest.approx(0.1)
    md = "\n".join(which_markdown(which.reset_index()))
    assert "### All datasets" in md and "| 100 | 2 | x | 1.18 | 1 s | y | 1.41 | 0.1 s |" in md


def test_error_ratios_over_the_best_per_dataset_and_size():
    rows = []
    for ds, n, method, mse, diverged in [
        ("a", 100, "x", 2.0, 0),
        ("a", 100, "y", 1.0, 0),
        ("a", 100, "d", 0.5, 1),  # a diverged run: never the best, shown as ∞
        ("a", 300, "x", 1.0, 0),
        ("a", 300, "y", 4.0, 0),  # d not run at 300 (its size limit): —
    ]:
        rows.append(
            dict(
                dataset=ds,
                n_samples=n,
                method=method,
                kind="recipe" if method == "y" else "baseline",
                n_diverged=diverged,
                mse_mean=mse,
            )
        )
    wide = error_ratios(pd.DataFrame(rows))
    assert list(wide.columns) == ["y", "d", "x"]  # recipes first, then baselines by name
    assert wide.loc[("a", 100)].tolist() == [1.0, math.inf, 2.0]
    assert wide.loc[("a", 300), "y"] == 4.0 and pd.isna(wide.loc[("a", 300), "d"])
    md = "\n".join(error_ratio_markdown(pd.DataFrame(rows)))
    assert "| 100 | **1.00** | ∞ | 2 |" in md and "| 300 | 4 | — | **1.00** |" in md
    assert error_ratio_markdown(pd.DataFrame()) == []
