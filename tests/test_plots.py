import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from interp5d.report.plots import MISS_ROW, time_to_quality, time_to_quality_figure
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


def axes_fraction(ax, y: float) -> float:
    lo, hi = ax.get_ylim()
    return (np.log10(y) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))


def notes(ax) -> list[str]:
    """The panel's texts but the k/n annotations of its crosses."""
    return [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]


def crosses(ax) -> list:
    return [line for line in ax.get_lines() if line.get_marker() == "x"]


def test_time_to_quality_shares_one_scale_per_dataset_and_keeps_misses_below_the_data():
    stats = targets_by_size()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a legend with nothing to show
        fig = time_to_quality_figure(stats)
    axes = fig.axes
    missed, reached = axes[:2], axes[2:]  # rows sorted by dataset name
    # one y scale across the row's targets: the stricter target's times read higher
    assert all(ax.get_yscale() == "log" for ax in reached)
    assert reached[0].get_ylim() == reached[1].get_ylim()
    loose, strict = ([ln for ln in ax.get_lines() if ln.get_marker() == "o"] for ax in reached)
    assert min(strict[0].get_ydata()) > max(loose[0].get_ydata())
    band = 0.02 + MISS_ROW * 1  # one method (b) missed in that row
    for ax in reached:
        points = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
        assert len(points) == 1  # a's line; b has none
        assert all(band < axes_fraction(ax, y) < 1 for y in points[0].get_ydata())
        # b's two sizes as crosses, in axes coordinates inside the band
        assert [c.get_ydata()[0] for c in crosses(ax)] == [0.02 + MISS_ROW * 0.3] * 2
        assert ax.get_legend() is not None
    # the band's key names b, which no legend lists, at the right of the row
    assert notes(reached[-1]) == ["b"]
    assert notes(missed[-1]) == [
        "no method reached this target\nat any size",
        "a",
    ]
    # nothing reached: no log scale to fake, a note in each panel, no empty legend
    for ax in missed:
        assert ax.get_yscale() == "linear"
        assert len(crosses(ax)) == 2
        assert any("no method reached" in t for t in notes(ax))
        assert ax.get_legend() is None
    plt.close(fig)


def test_time_to_quality_writes_the_figure(tmp_path):
    out = tmp_path / "ttq.png"
    time_to_quality(targets_by_size(), out, dpi=40)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
