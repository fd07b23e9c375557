"""Names of the summary figures (kept apart from plots.py so reading them needs no matplotlib)."""

FIGURE_NAMES = (
    "training_time_vs_dataset_size",
    "memory_usage_vs_dataset_size",
    "accuracy_metrics_vs_dataset_size",
    "calibration_vs_dataset_size",
    "test_error_vs_dataset_size",
    "test_error_vs_fit_time",
)
