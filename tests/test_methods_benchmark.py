"""benchmarks/methods.py measures what it is asked to: the methods, sizes and seeds given, one
row per method and size, and a time-to-quality record for each of its runs' targets."""

from .conftest import load_benchmark


def test_comparison_runs_the_methods_sizes_and_seeds_asked(capsys):
    methods = load_benchmark("methods")
    records = methods.comparison(["synthetic5d"], [300, 400], [7, 8], ["tuned", "ols"])
    assert {(r["method"], r["n_samples"], r["seed"]) for r in records} == {
        (m, n, s) for m in ("tuned", "ols") for n in (300, 400) for s in (7, 8)
    }
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| synthetic5d")]
    assert [ln.split(" | ")[1:3] for ln in rows] == [
        ["300", "tuned"],
        ["300", "ols"],
        ["400", "tuned"],
        ["400", "ols"],
    ]
    methods.time_to_quality(records)
    table = capsys.readouterr().out
    assert table.count("| synthetic5d |") == 4 and "ceiling-0.002" in table
