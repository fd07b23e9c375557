"""The study's figures, drawn from the aggregated tables (matplotlib, Agg backend)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from interp5d.report.plots_names import FIGURE_NAMES
from interp5d.report.summary import _methods, loglog_slope


def _panel(
    ax,
    stats: pd.DataFrame,
    col: str,
    ylabel: str,
    title: str,
    logy: bool = False,
    fit: bool = False,
) -> None:
    colours = method_colours(stats)
    """Mean ± std over seeds against size, one line per method (each in its own colour in
    every figure); diverged runs are marked. With fit, the fitted power law's exponent goes
    into the legend (3+ sizes). Methods without the measure are left out."""
    for method, rdf in stats.groupby("method", sort=True):
        rdf = rdf.sort_values("n_samples")
        if rdf[f"{col}_mean"].isna().all():
            continue
        label = method
        b = loglog_slope(rdf["n_samples"], rdf[f"{col}_mean"]) if fit else float("nan")
        if np.isfinite(b):
            label = f"{method} (∝ n^{b:.2f})"
        line = ax.errorbar(
            rdf["n_samples"],
            rdf[f"{col}_mean"],
            yerr=rdf[f"{col}_std"].fillna(0),
            marker="o",
            capsize=3,
            label=label,
            color=colours[method],
        )
        for _, row in rdf[rdf["n_diverged"] > 0].iterrows():
            text = f"{int(row['n_diverged'])}/{int(row['n_runs'])} diverged"
            _mark_at_bottom(ax, row["n_samples"], text, "red", line[0].get_color(), y=0.02)
    ax.set_xscale("log")
    values = stats[f"{col}_mean"].dropna()
    if logy and (values > 0).any():  # no log axis when nothing is left to plot on it
        ax.set_yscale("log")
    ax.set_xlabel("dataset size (samples)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)


def _mark_at_bottom(ax, x: float, text: str, marker: str, colour: str, y: float = 0.03) -> None:
    """A cross and a note at x, near the panel's bottom: x in data coordinates, y in axes
    coordinates, so it shows on any (log) y scale, even where there is no value to plot."""
    ax.plot(x, y, "x", color=marker, ms=8, transform=ax.get_xaxis_transform(), clip_on=False)
    ax.annotate(
        text,
        (x, y),
        xycoords=ax.get_xaxis_transform(),
        color=colour,
        fontsize=7,
        xytext=(3, 3),
        textcoords="offset points",
        annotation_clip=False,
        clip_on=False,  # a note at the last size runs past the panel's right edge
    )


def _legend(ax, **kwargs) -> None:
    """A legend where the panel has labelled lines (none where every run diverged)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def method_colours(stats: pd.DataFrame) -> dict[str, str]:
    """One colour per method of the study, the same in every panel."""
    return {m: f"C{i}" for i, m in enumerate(sorted(stats["method"].unique()))}


def _grid(stats: pd.DataFrame, ncols: int, width: float = 5.0, height: float = 4.0):
    datasets = sorted(stats["dataset"].unique())
    fig, axes = plt.subplots(
        len(datasets), ncols, figsize=(width * ncols, height * len(datasets)), squeeze=False
    )
    return fig, axes, datasets


def training_time(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    fig, axes, datasets = _grid(stats, 2)
    for i, ds in enumerate(datasets):
        fdf = stats[stats["dataset"] == ds]
        _panel(
            axes[i, 0], fdf, "fit_time_s", "fit time (s)", f"{ds}: fit time", logy=True, fit=True
        )
        _panel(
            axes[i, 1],
            fdf,
            "time_per_epoch_s",
            "fit time per epoch (s)",
            f"{ds}: per epoch (iterative methods)",
            logy=True,
        )
    _legend(axes[0, 0], title="method")
    _save(
        fig,
        out,
        dpi,
        "Fit time vs dataset size (mean ± std over seeds; the whole fit call)",
        "Seconds of the whole fit call (time.perf_counter), one thread, after an untimed "
        "warm-up; one line per method, the legend's exponent b fitted as fit time ∝ n^b; right: "
        "the same divided by the epochs run, for the methods that iterate.",
    )


def memory_usage(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    fig, axes, datasets = _grid(stats, 3)
    colours = method_colours(stats)
    for i, ds in enumerate(datasets):
        fdf = stats[stats["dataset"] == ds]
        _panel(
            axes[i, 0],
            fdf,
            "train_peak_mb",
            "peak above baseline (MiB)",
            f"{ds}: fit",
            logy=True,
            fit=True,
        )
        _panel(
            axes[i, 1],
            fdf,
            "loop_peak_mb",
            "peak above baseline (MiB)",
            f"{ds}: MLP training loop",
            logy=True,
        )
        for method, rdf in fdf.groupby("method", sort=True):
            rdf = rdf.sort_values("n_samples")
            if rdf["loop_estimate_mb_mean"].notna().any():
                axes[i, 1].plot(
                    rdf["n_samples"], rdf["loop_estimate_mb_mean"], ls=":", color=colours[method]
                )
        axes[i, 1].plot([], [], ls=":", color="gray", label="its buffers (estimate, dotted)")
        _legend(axes[i, 1], fontsize=8)
        _panel(
            axes[i, 2],
            fdf,
            "predict_peak_mb",
            "peak above baseline (MiB)",
            f"{ds}: prediction (test split)",
            logy=True,
        )
    for ax in axes.flat:
        if ax.get_yscale() == "log":
            _plain_log_ticks(ax)  # 0.6, 2, 6 MiB rather than 6 × 10⁻¹
    _legend(axes[0, 0], title="method")
    _save(
        fig,
        out,
        dpi,
        "Peak resident memory above each phase's baseline (MiB = 2²⁰ bytes)",
        "The kernel's high-water mark of resident memory (VmHWM), reset when the phase starts, "
        "less the phase's baseline; mean ± std over seeds. Dotted: the MLP loop's buffers "
        "counted from its code.",
    )


def accuracy(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    """Test MSE (left) and test error 1 − R² (right), both on log axes, so that R² 0.99,
    0.999 and 0.9999 lie a decade apart; the noise floor (1 − the noise-free f's R² against
    y) dashed where the function is known."""
    # 1 − R²: its mean is 1 − the mean R², its spread the R²'s
    errors = stats.copy()  # one block (the summary's columns arrive one by one)
    errors["error_mean"], errors["error_std"] = 1 - stats["r2_mean"], stats["r2_std"]
    fig, axes, datasets = _grid(stats, 2)
    for i, fn in enumerate(datasets):
        fdf = errors[errors["dataset"] == fn]
        _panel(axes[i, 0], fdf, "mse", "test MSE (log)", f"{fn}: MSE", logy=True)
        _panel(axes[i, 1], fdf, "error", "test error 1 − R² (log)", f"{fn}: 1 − R²", logy=True)
        floor = 1 - fdf.groupby("n_samples")["oracle_r2_mean"].mean().dropna()
        if len(floor) and (floor > 0).all():
            axes[i, 1].plot(floor.index, floor.values, "k--", label="noise floor (1 − R² of f)")
        else:  # the noise-free f known (a floor of 0), or no f at all (a file dataset)
            known = len(floor) > 0
            axes[i, 1].text(
                0.02,
                0.02,
                "noise-free: its floor is 0" if known else "noise floor unknown (file dataset)",
                transform=axes[i, 1].transAxes,
                fontsize=8,
            )
        _legend(axes[i, 1], title="method")
    _save(
        fig,
        out,
        dpi,
        "Accuracy on the test split vs dataset size (mean ± std over seeds; lower is better)",
        "Test MSE and 1 − R² on the held-out test split. f is the noise-free function, "
        "y = f + noise: the dashed floor, 1 − R² of f against y, is the least error a model can "
        "expect.",
    )


def calibration(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    fig, axes, datasets = _grid(stats, 3)
    for i, ds in enumerate(datasets):
        fdf = stats[stats["dataset"] == ds]
        _panel(axes[i, 0], fdf, "coverage_95", "fraction inside ±1.96 std", f"{ds}: coverage of y")
        _panel(
            axes[i, 1], fdf, "coverage_95_f", "fraction inside ±1.96 std", f"{ds}: coverage of f"
        )
        for ax in axes[i, :2]:
            ax.axhline(0.95, color="k", ls="--", lw=1, label="calibrated (0.95)")
        if fdf["coverage_95_f_mean"].isna().all():
            axes[i, 1].text(
                0.02, 0.5, "f unknown (file dataset)", transform=axes[i, 1].transAxes, fontsize=8
            )
        _panel(
            axes[i, 2],
            fdf,
            "interval_width_95",
            "mean width of mean ± 1.96 std",
            f"{ds}: interval width",
            logy=True,
        )
        _legend(axes[i, 0], title="method", fontsize=7)
    _save(
        fig,
        out,
        dpi,
        "Predictive uncertainty on the test split (mean ± std over seeds)",
        "The share of test points inside prediction ± 1.96 predictive std (0.95: calibrated), "
        "against the observed y (left) and the noise-free function f, y = f + noise (middle); "
        "right: the interval's mean width.",
    )


def learning_curves(
    histories: Mapping[tuple[str, str, int], pd.DataFrame],
    out: str | Path,
    dpi: int = 150,
    steps: Mapping[tuple[str, str, int], float] | None = None,
) -> None:
    """Train (solid) and validation (dashed) loss; keys are (dataset, method, n). Against
    optimizer steps where `steps` gives every run's steps per epoch (a recipe with a step
    budget runs many epochs of few rows and few of many: per epoch, more data would look
    like less training), else per epoch."""
    by_steps = steps is not None and all(k in steps for k in histories)
    panels = sorted({(fn, r) for fn, r, _ in histories})
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False)
    for ax, (fn, method) in zip(axes.flat, panels, strict=False):
        sizes = sorted(n for f, r, n in histories if (f, r) == (fn, method))
        for j, n in enumerate(sizes):
            h = histories[(fn, method, n)]
            x = h["epoch"] * steps[(fn, method, n)] if by_steps else h["epoch"]
            color = f"C{j}"
            ax.plot(x, h["train_loss"], color=color, label=f"n={n:,} train")
            val = h["val_loss"].notna()
            ax.plot(x[val], h["val_loss"][val], color=color, ls="--", label=f"n={n:,} val")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer steps" if by_steps else "epoch")
        ax.set_ylabel("MSE (standardised y)")
        ax.set_title(f"{fn} · {method}")
        ax.grid(True, which="both", alpha=0.3)
        _legend(ax, fontsize=7)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    _save(
        fig,
        out,
        dpi,
        "Learning curves (first seed)",
        "MSE of the standardised target: training (solid: the mean over each epoch's batches) "
        "and validation (dashed), one colour per dataset size.",
    )


def _caption(fig, caption: str) -> float:
    """A caption at the figure's foot; returns the height fraction it takes."""
    width = int(fig.get_figwidth() * 16)  # characters a line at 8 pt
    text = textwrap.fill(caption, width=width)
    height = fig.get_figheight()
    fig.text(0.5, 0.05 / height, text, ha="center", va="bottom", fontsize=8, color="0.25")
    lines = text.count("\n") + 1
    return (0.16 * lines + 0.15) / height  # inches: clear of the x labels at any height


def _save(fig, out: str | Path, dpi: int, title: str, caption: str = "") -> None:
    """Title on top and a caption inside the image at its foot (what is measured and how to
    read it: the PNG says so wherever it is shown, not only in the report)."""
    fig.suptitle(title)
    if caption:
        fig.tight_layout(rect=(0, _caption(fig, caption), 1, 1))
    else:
        fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


TTQ_CAPTION = (
    "Median over seeds of the fit seconds (the whole fit on the clock, validations included) "
    "until the validation R² first reached the target; a line's exponent is the fitted power "
    "of n. Where fewer than half of the runs reached a target there is no time: the strip "
    "above the panel marks that size with × and k/n, the runs that did reach it."
)


def _log_x_limits(ns: np.ndarray) -> tuple[float, float]:
    """x limits of a log size axis with room past the last size for a k/n note."""
    return float(ns.min()) / 1.6, float(ns.max()) * 2.2


def _log_limits(values: np.ndarray, band: float, top: float = 0.8) -> tuple[float, float]:
    """y limits of a log axis that put `values` between axes fractions `band` and `top`,
    spanning at least a factor of 3 so that it carries ticks; above `top` is the legend's."""
    lo, hi = np.log10(values.min()), np.log10(values.max())
    if hi - lo < np.log10(3):
        mid = (hi + lo) / 2
        lo, hi = mid - np.log10(3) / 2, mid + np.log10(3) / 2
    span = (hi - lo) / (top - band)
    bottom = lo - band * span
    return 10**bottom, 10 ** (bottom + span)


def _plain_log_ticks(ax) -> None:
    """Plain numbers (0.2, not 2 × 10⁻¹) on a log y axis; over less than 1.5 decades the
    minor ticks at 2, 3 and 5 are labelled too, so that a narrow axis still reads."""
    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    lo, hi = ax.get_ylim()
    if np.log10(hi / lo) < 1.5:
        ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 3.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)
    else:
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def time_to_quality_figure(stats: pd.DataFrame):
    """Median fit seconds to each quality target against n (log–log), one row per dataset
    (one y scale across its targets, so that stricter targets read as higher), one panel per
    target, one line per method. Where fewer than half the runs reached a target there is
    no time to plot: a strip above the panel, apart from the time axis, has a row per method
    that missed somewhere, with a cross at each size it missed and how many runs reached."""
    datasets = sorted(stats["dataset"].unique())
    per_ds = {
        ds: list(dict.fromkeys(stats[stats["dataset"] == ds].sort_values("target_r2")["target"]))
        for ds in datasets
    }
    ncols = max(1, max((len(t) for t in per_ds.values()), default=1))
    missed = stats[stats["median_s"].isna()]
    missing = {
        ds: sorted(missed.loc[missed["dataset"] == ds, "method"].unique()) for ds in datasets
    }
    strips = [0.25 + 0.22 * len(missing[ds]) if missing[ds] else 0.01 for ds in datasets]
    ratios = [r for s in strips for r in (s, 3.0)]
    fig = plt.figure(
        figsize=(4.2 * ncols, sum(ratios) * 1.05 + 1.2),
        layout="constrained",  # keeps the titles clear of each other however many rows
    )
    grid = fig.add_gridspec(2 * len(datasets), ncols, height_ratios=ratios)
    colours = method_colours(stats)
    xlim = _log_x_limits(stats["n_samples"].to_numpy())
    fig.panels = {}  # (dataset, target) -> (strip of misses, time axes), for tests
    for i, ds in enumerate(datasets):
        ddf = stats[stats["dataset"] == ds]
        reached = ddf["median_s"].dropna().to_numpy()
        ax0 = None
        for j in range(ncols):
            ax = fig.add_subplot(grid[2 * i + 1, j], sharey=ax0)
            strip = fig.add_subplot(grid[2 * i, j], sharex=ax)
            ax0 = ax0 or ax
            if j >= len(per_ds[ds]):
                ax.axis("off")
                strip.axis("off")
                continue
            target = per_ds[ds][j]
            fig.panels[ds, target] = strip, ax
            tdf = ddf[ddf["target"] == target]
            for method, mdf in tdf.groupby("method", sort=True):
                mdf = mdf.sort_values("n_samples")
                ok = mdf[mdf["median_s"].notna()]
                if len(ok):
                    b = loglog_slope(ok["n_samples"], ok["median_s"])
                    label = f"{method} (∝ n^{b:.2f})" if np.isfinite(b) else method
                    ax.plot(
                        ok["n_samples"], ok["median_s"], "o-", color=colours[method], label=label
                    )
                for _, row in mdf[mdf["median_s"].isna()].iterrows():
                    k = missing[ds].index(method)
                    strip.plot(row["n_samples"], k, "x", color=colours[method], ms=7)
                    strip.annotate(
                        f"{int(row['n_reached'])}/{int(row['n_runs'])}",
                        (row["n_samples"], k),
                        xytext=(4, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=7,
                        color=colours[method],
                    )
            title = f"{ds}: {target} (val R² {tdf['target_r2'].mean():.4f})"
            if missing[ds]:
                strip.set_ylim(len(missing[ds]) - 0.4, -0.6)
                strip.set_yticks(range(len(missing[ds])))
                strip.set_yticklabels(missing[ds] if j == 0 else [], fontsize=7)
                strip.tick_params(axis="x", labelbottom=False)
                strip.set_facecolor("0.95")
                strip.grid(True, axis="x", which="both", alpha=0.3)
                strip.set_title(title, fontsize=9)
                if j == 0:
                    strip.set_ylabel("missed", fontsize=7)
            else:
                strip.axis("off")
                ax.set_title(title, fontsize=9)
            if tdf["median_s"].isna().all():
                ax.text(
                    0.5,
                    0.5,
                    "no method reached this target\nat any size",
                    transform=ax.transAxes,
                    ha="center",
                    color="gray",
                    fontsize=8,
                )
            ax.set_xscale("log")
            ax.set_xlim(*xlim)
            ax.set_xlabel("dataset size (samples)")
            ax.grid(True, which="both", alpha=0.3)
            _legend(ax, fontsize=7, loc="upper left")
            if j:
                ax.tick_params(axis="y", labelleft=False)
        if len(reached):  # the row shares one y axis: set its scale once
            ax0.set_yscale("log")
            ax0.set_ylim(*_log_limits(reached, 0.05))
            _plain_log_ticks(ax0)
        else:
            ax0.set_yticks([])
        ax0.set_ylabel("fit seconds to target (median)")
    fig.suptitle("Time to quality: fit seconds until the validation R² first reaches each target")
    return fig


def time_to_quality(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    fig = time_to_quality_figure(stats)
    bottom = _caption(fig, TTQ_CAPTION)
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def _error_ticks(ax) -> None:
    """Each decade of 1 − R² also as the R² it means (0.001: R² 0.999), so that 0.99,
    0.999 and 0.9999 read apart; other values as plain numbers."""

    def label(v: float, _) -> str:
        k = -np.log10(v) if v > 0 else 0
        if v < 1 and abs(k - round(k)) < 1e-9:
            return f"{v:g} (R² {1 - v:.{round(k)}f})"
        return f"{v:g}"

    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=12))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(label))
    lo, hi = ax.get_ylim()
    if np.log10(hi / lo) < 1.5:  # a narrow axis has one decade or none: label 2, 3 and 5 too
        ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 3.0, 5.0)))
        ax.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _error(stats: pd.DataFrame) -> pd.DataFrame:
    """Test error 1 − R² per row: of the mean R² over seeds (`err`), and of the best and
    worst seed (`err_lo`, `err_hi`); not a number (nan) where no run gave one or it is not
    positive, so that it never lands on a log axis as a made-up value."""

    def positive(v: pd.Series) -> pd.Series:
        return v.where(v > 0)

    # the columns used, so that a wide table's new columns do not fragment it
    keep = ["dataset", "method", "kind", "n_samples", "n_runs", "n_diverged"]
    return stats[[*keep, "fit_time_s_mean", "oracle_r2_mean"]].assign(
        err=positive(1 - stats["r2_mean"]),
        err_lo=positive(1 - stats["r2_max"]),
        err_hi=positive(1 - stats["r2_min"]),
        floor=positive(1 - stats["oracle_r2_mean"]),
    )


def _panels(n: int, width: float = 4.6, height: float = 3.8):
    """A figure of n panels, at most three a row; the legend goes below them."""
    ncols = min(max(n, 1), 3)
    nrows = -(-max(n, 1) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width * ncols + 1.5, height * nrows + 1.4),
        squeeze=False,
        layout="constrained",  # keeps tick labels, titles and the legend inside the image
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def _method_label(method: str, mdf: pd.DataFrame, largest: int) -> str:
    """The method, and where a size limit kept it off the largest sizes, up to where it ran."""
    top = int(mdf["n_samples"].max())
    return method if top >= largest else f"{method} (run up to n = {top:,})"


def _title(ds: str, ddf: pd.DataFrame) -> str:
    """The panel's title: the dataset, what its noise floor is when no line can show it,
    and each size where a method has no error to plot (every run diverged), named rather
    than drawn as a value."""
    lines = [ds]
    if ddf["floor"].isna().all():
        known = ddf["oracle_r2_mean"].notna().any()
        lines[0] += " (noise-free: floor 0)" if known else " (noise floor unknown: a file)"
    for _, r in ddf[ddf["err"].isna()].sort_values(["method", "n_samples"]).iterrows():
        lines.append(
            f"{r['method']} at n = {int(r['n_samples']):,}: no result "
            f"({int(r['n_diverged'])}/{int(r['n_runs'])} runs diverged)"
        )
    return "\n".join(lines)


def _floor_line(ax, ddf: pd.DataFrame, across: bool = False) -> None:
    """The noise floor 1 − (noise ceiling), dashed: no model's expected test error is below
    it (a noise-free function's is 0, which a log axis cannot show: the title says so);
    `across` the whole panel at its mean, else against n."""
    floor = ddf.groupby("n_samples")["floor"].mean().dropna()
    if not len(floor):
        return
    label = "noise floor (1 − noise ceiling)"
    if across:
        ax.axhline(floor.mean(), color="k", ls="--", lw=1, label=label)
    else:
        ax.plot(floor.index, floor.values, "k--", lw=1, label=label)


def _figure_legend(fig, axes) -> None:
    """One legend for every panel (the methods keep their colours throughout), outside."""
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(
            list(seen.values()),
            list(seen),
            loc="outside lower center",
            ncols=2 if len(axes) == 1 else 3,
            fontsize=8,
        )


def _error_axis(ax, ds: str, ddf: pd.DataFrame, xlabel: str) -> None:
    """A test-error panel's y axis (log, labelled by the R² each decade means where there
    is an error to show), its labels, title and grid."""
    if ddf["err"].notna().any():
        ax.set_yscale("log")
        _error_ticks(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test error 1 − R² (log)")
    ax.set_title(_title(ds, ddf), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)


def _suptitle(fig, text: str) -> None:
    """The figure's title, wrapped to its width so that a one-panel figure clips none of it."""
    fig.suptitle(textwrap.fill(text, width=int(fig.get_figwidth() * 12)), fontsize=11)


def error_vs_size_figure(stats: pd.DataFrame):
    """Test error 1 − R² against n (log–log), one panel per dataset, one line per method:
    1 − the mean R² over seeds, bars to the best and the worst seed."""
    err = _error(stats)
    colours = method_colours(stats)
    datasets = sorted(stats["dataset"].unique())
    fig, axes = _panels(len(datasets))
    for ax, ds in zip(axes, datasets, strict=False):
        ddf = err[err["dataset"] == ds]
        largest = int(ddf["n_samples"].max())
        for method in _methods(ddf):
            mdf = ddf[(ddf["method"] == method)].sort_values("n_samples")
            if mdf["err"].notna().any():  # a size without a result breaks the line (nan)
                lo = (mdf["err"] - mdf["err_lo"].fillna(mdf["err"])).clip(lower=0).fillna(0)
                hi = (mdf["err_hi"].fillna(mdf["err"]) - mdf["err"]).clip(lower=0).fillna(0)
                ax.errorbar(
                    mdf["n_samples"],
                    mdf["err"],
                    yerr=[lo, hi],
                    marker="o",
                    ms=4,
                    capsize=2,
                    color=colours[method],
                    label=_method_label(method, mdf, largest),
                )
        _floor_line(ax, ddf)
        ax.set_xscale("log")
        sizes = sorted(ddf["n_samples"].unique())  # the study's sizes as they are: 100, 300
        ax.set_xticks(sizes, [f"{int(n):,}" for n in sizes])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        _error_axis(ax, ds, ddf, "dataset size n (samples, before the split)")
    _figure_legend(fig, axes)
    _suptitle(
        fig,
        "Test error against dataset size: 1 − test R², mean over seeds, bars to the best and "
        "the worst seed",
    )
    return fig


def error_vs_size(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    """Test error against n: see error_vs_size_figure."""
    fig = error_vs_size_figure(stats)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def _short_n(n: int) -> str:
    return f"{n // 1000:,}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def pareto(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The points no other point beats on both x and y (lower is better on both), by x."""
    pts = points.dropna(subset=[x, y]).sort_values([x, y])
    return pts[pts[y] < pts[y].cummin().shift(fill_value=np.inf)]


def error_vs_fit_time_figure(stats: pd.DataFrame):
    """The frontier: test error 1 − R² against fit seconds (log–log), one panel per dataset,
    one point per method × size (mean over seeds, labelled with n), a method's sizes joined
    in order; the staircase through the points that no other beats on both is the frontier."""
    err = _error(stats).assign(fit_s=lambda d: d["fit_time_s_mean"].where(d["fit_time_s_mean"] > 0))
    colours = method_colours(stats)
    datasets = sorted(stats["dataset"].unique())
    fig, axes = _panels(len(datasets))
    for ax, ds in zip(axes, datasets, strict=False):
        ddf = err[err["dataset"] == ds]
        largest = int(ddf["n_samples"].max())
        for method in _methods(ddf):
            mdf = ddf[ddf["method"] == method].sort_values("n_samples")
            ok = mdf.dropna(subset=["err", "fit_s"])
            if not len(ok):
                continue
            ax.plot(
                ok["fit_s"],
                ok["err"],
                "o-",
                ms=4,
                lw=0.8,
                color=colours[method],
                label=_method_label(method, mdf, largest),
            )
            for _, r in ok.iterrows():
                ax.annotate(
                    _short_n(int(r["n_samples"])),
                    (r["fit_s"], r["err"]),
                    xytext=(3, 2),
                    textcoords="offset points",
                    fontsize=6,
                    color=colours[method],
                )
        front = pareto(ddf, "fit_s", "err")
        if len(front) > 1:
            ax.step(
                front["fit_s"],
                front["err"],
                where="post",
                color="0.3",
                ls=":",
                lw=1.2,
                label="frontier (none both faster and more accurate)",
            )
        _floor_line(ax, ddf, across=True)
        if ddf["fit_s"].notna().any():
            ax.set_xscale("log")
        _error_axis(ax, ds, ddf, "fit time (s, the whole fit call, mean over seeds; log)")
    _figure_legend(fig, axes)
    _suptitle(
        fig,
        "Error against fit time: one point per method and dataset size n (labelled), "
        "mean over seeds; lower left is better",
    )
    return fig


def error_vs_fit_time(stats: pd.DataFrame, out: str | Path, dpi: int = 150) -> None:
    """The frontier: see error_vs_fit_time_figure."""
    fig = error_vs_fit_time_figure(stats)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


FIGURES = dict(
    zip(
        FIGURE_NAMES,
        (training_time, memory_usage, accuracy, calibration, error_vs_size, error_vs_fit_time),
        strict=True,
    )
)
