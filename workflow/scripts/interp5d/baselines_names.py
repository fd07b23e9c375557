"""Baseline methods and their default settings (apart from baselines.py so the workflow's
config check reads them without importing scikit-learn or scipy)."""

BASELINE_DEFAULTS: dict[str, dict] = {
    # ordinary least squares on the standardised inputs, with intercept: a floor
    "ols": {},
    # scikit-learn's MLPRegressor with the same layers, its defaults otherwise
    "sklearn_mlp": {"hidden": [64, 32], "max_iter": 200},
    # thin-plate RBF interpolation; smoothing picked on the validation split by fits on at
    # most `select_rows` training rows, then one fit on all of them; sizes whose training
    # split exceeds `max_rows` are left out (its dense system grows as n²)
    "rbf": {"smoothing": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "select_rows": 2000, "max_rows": 20000},
}
