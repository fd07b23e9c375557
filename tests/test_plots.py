import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from interp5d.report import plots
from interp5d.report.plots import (
    accuracy,
    error_vs_fit_time,
    error_vs_fit_time_figure,
    error_vs_size,
    error_vs_size_figure,
    learning_curves,
    pareto,
    time_to_quality,
    time_to_quality_figure,
)
from matplotlib.text import Annotation

TARGETS = {"ceiling-0.01": 0.98, "ceiling-0.001": 0.989}


def targets_by_size() -> pd.DataFrame:
    """Two datasets: on `reached`, method a reaches both targets (the stricter one later) and
    b neither; on `missed`, nothing reaches anything."""
    rows = []
    for n, t_loose, t_strict in ((1000, 0.20, 0.31), (10000, 0.22, 0.35)):
        for target, r2 in TARGETS.items():
            median = t_loose if target == "ceiling-0.01" else t_strict
            for dataset, method, value in (
                ("reached", "a", median),
                ("reached", "b", np.nan),
                ("missed", "a", np.nan),
            ):
                rows.append(
                    dict(
                        dataset=dataset,
                        n_samples=n,
                        method=method,
                        target=target,
                        target_r2=r2,
                        n_runs=3,
                        n_reached=0 if np.isnan(value) else 3,
                        median_s=value,
                    )
                )
    return pd.DataFrame(rows)


def crosses(ax) -> list:
    return [line for line in ax.get_lines() if line.get_marker() == "x"]


def notes(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_time_to_quality_shares_one_scale_per_dataset_and_keeps_misses_off_the_time_axis():
    stats = targets_by_size()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a legend with nothing to show
        fig = time_to_quality_figure(stats)
    (strip_loose, loose), (strip_strict, strict) = (
        fig.panels["reached", t] for t in ("ceiling-0.01", "ceiling-0.001")
    )
    # one y scale across the row's targets: the stricter target's times read higher
    assert loose.get_yscale() == strict.get_yscale() == "log"
    assert loose.get_ylim() == strict.get_ylim()
    points = [[ln for ln in ax.get_lines() if ln.get_marker() == "o"] for ax in (loose, strict)]
    assert [len(p) for p in points] == [1, 1]  # a's line; b has none
    assert min(points[1][0].get_ydata()) > max(points[0][0].get_ydata())
    for strip, ax in ((strip_loose, loose), (strip_strict, strict)):
        assert crosses(ax) == []  # no miss is drawn on the time axis
        # b's two sizes as crosses in the strip above, in b's row, with how many reached
        assert [c.get_xdata()[0] for c in crosses(strip)] == [1000, 10000]
        assert [c.get_ydata()[0] for c in crosses(strip)] == [0, 0]
        assert [a.get_text() for a in strip.texts if isinstance(a, Annotation)] == ["0/3"] * 2
        assert strip.get_shared_x_axes().joined(strip, ax)
        assert ax.get_legend() is not None
        # the last size's note has room: the axis reaches past it
        assert ax.get_xlim()[1] > 10000 * 1.5
    assert [t.get_text() for t in strip_loose.get_yticklabels()] == ["b"]
    # nothing reached: no log scale to fake, a note in each panel, no empty legend
    for t in TARGETS:
        strip, ax = fig.panels["missed", t]
        assert ax.get_yscale() == "linear"
        assert crosses(ax) == [] and len(crosses(strip)) == 2
        assert any("no method reached" in t for t in notes(ax))
        assert ax.get_legend() is None
    plt.close(fig)


def test_time_to_quality_writes_the_figure(tmp_path):
    out = tmp_path / "ttq.png"
    time_to_quality(targets_by_size(), out, dpi=40)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def error_stats(sizes=(100, 1000), seeds=3) -> pd.DataFrame:
    """summary_by_size rows: a noisy function, a noise-free one and a file; on each, `gp` is
    size-limited to the smallest size, `ols` diverged at every run of the largest."""
    rows = []
    for ds, ceiling in (("noisy", 0.99), ("clean", 1.0), ("file", np.nan)):
        for method in ("tuned", "gp", "ols"):
            for n in sizes:
                if method == "gp" and n > sizes[0]:
                    continue
                lost = method == "ols" and n == sizes[-1]
                r2 = {"tuned": 1 - 1 / n, "gp": 1 - 0.1 / n, "ols": 0.5}[method]
                spread = 0.0 if seeds == 1 else 1e-5
                rows.append(
                    dict(
                        dataset=ds,
                        method=method,
                        kind="recipe" if method == "tuned" else "baseline",
                        n_samples=n,
                        n_runs=seeds,
                        n_diverged=seeds if lost else 0,
                        r2_mean=np.nan if lost else r2,
                        r2_min=np.nan if lost else r2 - spread,
                        r2_max=np.nan if lost else min(r2 + spread, 1.0),
                        r2_std=np.nan if lost or seeds == 1 else spread,
                        oracle_r2_mean=ceiling,
                        fit_time_s_mean=np.nan if lost else n / 1000,
                        mse_mean=np.nan if lost else 1 - r2,
                    )
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("figure", [error_vs_size_figure, error_vs_fit_time_figure])
def test_error_figures_use_log_error_and_name_what_has_no_point(figure):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figure(error_stats())
    clean, file, noisy = fig.axes[:3]  # panels sorted by dataset name
    for ax in (clean, file, noisy):
        assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
        assert "1 − R²" in ax.get_ylabel() and (
            "(s," in ax.get_xlabel() or "samples" in ax.get_xlabel()
        )
        # the diverged size is named in the title, never plotted as a value
        assert "ols at n = 1,000: no result (3/3 runs diverged)" in ax.get_title()
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), float)
            assert np.all(y[np.isfinite(y)] > 0)
    assert "noise-free: floor 0" in clean.get_title()
    assert "noise floor unknown" in file.get_title()
    # each decade of 1 − R² reads as its R²
    labels = [t.get_text() for t in clean.get_yticklabels()]
    assert "0.0001 (R² 0.9999)" in labels or "0.001 (R² 0.999)" in labels
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "gp (run up to n = 100)" in legend and "noise floor (1 − noise ceiling)" in legend
    plt.close(fig)


@pytest.mark.parametrize("sizes, seeds", [((1000,), 1), ((100,), 3)])
def test_error_figures_draw_one_size_and_one_seed(tmp_path, sizes, seeds):
    stats = error_stats(sizes, seeds)
    for draw in (error_vs_size, error_vs_fit_time):
        out = tmp_path / f"{draw.__name__}.png"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            draw(stats[stats["dataset"] == "noisy"], out, dpi=40)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_keeps_the_points_nothing_beats_on_both():
    pts = pd.DataFrame({"t": [1.0, 2.0, 3.0, 0.5, 4.0], "e": [0.1, 0.2, 0.01, 0.5, 0.01]})
    assert pareto(pts, "t", "e").index.tolist() == [3, 0, 2]


@pytest.fixture
def saved(monkeypatch):
    """The figures the plot functions save, kept open for inspection."""
    kept = []

    def keep(fig, out, dpi, title, caption=""):
        fig.text(0, 0, caption)  # the caption kept as a text of the figure, to be read
        kept.append(fig)

    monkeypatch.setattr(plots, "_save", keep)
    yield kept
    for fig in kept:
        plt.close(fig)


def test_accuracy_draws_the_error_on_a_log_axis_with_the_noise_floor(saved):
    stats = error_stats().assign(mse_std=0.0)
    stats = stats[stats["dataset"].isin(["noisy", "clean"])]
    accuracy(stats, "unused.png")
    (fig,) = saved
    clean_err, noisy_err = fig.axes[1], fig.axes[3]  # (MSE, error) panels by dataset name
    for ax in (clean_err, noisy_err):
        assert ax.get_yscale() == "log" and "1 − R²" in ax.get_ylabel()
    assert "noise floor (1 − R² of f)" in [line.get_label() for line in noisy_err.get_lines()]
    assert any("noise-free" in t.get_text() for t in clean_err.texts)
    assert any("f is the noise-free function" in t.get_text() for t in fig.texts)


def test_learning_curves_run_against_optimizer_steps(saved):
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3, 4],
            "train_loss": [1.0, 0.5, 0.3, 0.2],
            "val_loss": [1.1, None, 0.4, 0.3],
        }
    )
    key = ("synthetic5d", "tuned", 1000)
    learning_curves({key: history}, "unused.png", steps={key: 2.5})
    ax = saved[0].axes[0]
    assert ax.get_xlabel() == "optimizer steps"
    train, val = ax.get_lines()[:2]
    assert list(train.get_xdata()) == [2.5, 5.0, 7.5, 10.0] and list(val.get_xdata()) == [
        2.5,
        7.5,
        10.0,
    ]
    learning_curves({key: history}, "unused.png")  # without steps: per epoch, as before
    assert saved[1].axes[0].get_xlabel() == "epoch"


REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "default"


@pytest.mark.parametrize("one_size, one_seed", [(True, False), (False, True), (True, True)])
def test_every_figure_draws_the_study_edge_cases(tmp_path, one_size, one_seed):
    """One size, one seed, and a method (the seed recipe) that reaches no target at any
    size: every figure of the study draws, with no warning (e.g. a log axis with nothing
    to put on it, an empty legend)."""
    stats = pd.read_csv(REFERENCE / "summary_by_size.csv")
    targets = pd.read_csv(REFERENCE / "targets_by_size.csv")
    assert targets.loc[targets["method"] == "seed", "median_s"].isna().all()
    if one_size:
        n = stats["n_samples"].max()
        stats, targets = stats[stats["n_samples"] == n], targets[targets["n_samples"] == n]
    if one_seed:  # a single run: no spread
        stats = stats.assign(n_runs=1, **{c: np.nan for c in stats if c.endswith("_std")})
        targets = targets.assign(n_runs=1, n_reached=targets["median_s"].notna().astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, draw in plots.FIGURES.items():
            draw(stats, tmp_path / f"{name}.png", dpi=40)
        time_to_quality(targets, tmp_path / "ttq.png", dpi=40)
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    assert len(list(tmp_path.glob("*.png"))) == len(plots.FIGURES) + 1
