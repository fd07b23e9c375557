"""Reproduction you can check: the run archive, compare, verify."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from interp5d.repro.archive import archive_run, archives, resolve_run
from interp5d.repro.compare import Run, dict_diff, regressions, report, verify

from .conftest import REPO

CLI = [sys.executable, "-m", "interp5d"]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow/scripts")}
ENVIRONMENT = {
    "cpu_model": "cpu",
    "cpu_isa": ["avx2"],
    "machine": "x86_64",
    "python": "3.11.7",
    "packages": {"torch": "2.13.0"},
    "git_commit": "abc1234567890",
}


def write_run(folder, r2=(0.9, 0.92, 0.91), time=(1.0, 1.1, 0.9), config=None, env=None):
    """A results folder of one dataset × method × size over three seeds."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = pd.DataFrame(
        {
            "dataset": "d",
            "method": "m",
            "n_samples": 1000,
            "seed": [1, 2, 3],
            "status": "ok",
            "r2": r2,
            "mse": [1 - v for v in r2],
            "fit_time_s": time,
            "train_peak_mb": 2.0,
            "predict_peak_mb": 1.0,
        }
    )
    runs.to_csv(folder / "summary.csv", index=False)
    stats = runs.groupby(["dataset", "method", "n_samples"]).agg(
        **{
            f"{c}_{s}": (c, s)
            for c in ("r2", "mse", "fit_time_s", "train_peak_mb", "predict_peak_mb")
            for s in ("mean", "std")
        },
        n_runs=("seed", "size"),
    )
    stats.reset_index().to_csv(folder / "summary_by_size.csv", index=False)
    (folder / "config.json").write_text(json.dumps(config or {"recipes": {"m": {"epochs": 5}}}))
    (folder / "environment.json").write_text(json.dumps(env or ENVIRONMENT))
    return folder


def test_the_archive_keeps_each_changed_run_once_read_only(tmp_path):
    results = write_run(tmp_path / "results")
    first = archive_run(results)
    assert first is not None and first.parent == results / "archive"
    assert first.name.endswith("_abc1234567_" + first.name.rsplit("_", 1)[1])
    assert not os.access(first / "summary.csv", os.W_OK) or os.geteuid() == 0
    assert oct((first / "summary.csv").stat().st_mode)[-3:] == "444"
    assert archive_run(results) is None  # nothing changed: no new record
    write_run(results, r2=(0.5, 0.6, 0.55))
    second = archive_run(results)
    assert archives(results / "archive") == [first, second]
    assert resolve_run("last", results / "archive") == second
    assert resolve_run("previous", results / "archive") == first
    assert resolve_run(first.name[:20], results / "archive") == first
    with pytest.raises(FileNotFoundError, match="no archived run under"):
        resolve_run("nope", results / "archive")
    (tmp_path / "partial").mkdir()
    assert archive_run(tmp_path / "partial") is None  # no tables: no record


def _half_written(root, name):
    """A folder as a killed or out-of-disk archiver leaves it: a 0-byte table, no manifest,
    made read-only like a finished record."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "summary.csv").write_bytes(b"")
    (folder / "summary.csv").chmod(0o444)
    folder.chmod(0o555)
    return folder


def test_a_half_written_archive_is_removed_and_the_run_archived(tmp_path):
    results = write_run(tmp_path / "results")
    root = results / "archive"
    first = archive_run(results)
    stale = _half_written(root, "29990101T000000.000000Z_abc1234567_0badcafe")
    temp = _half_written(root, ".tmp-killed")
    write_run(results, r2=(0.5, 0.6, 0.55))
    second = archive_run(results)
    assert second is not None and archives(root) == [first, second]
    assert not stale.exists() and not temp.exists()
    assert sorted(p.name for p in root.iterdir()) == [first.name, second.name]
    assert archive_run(results) is None  # the tables are archived: nothing more


def test_an_archive_cut_off_midway_leaves_nothing_and_the_next_call_writes_it(
    tmp_path, monkeypatch
):
    import errno
    import shutil

    results = write_run(tmp_path / "results")
    root = results / "archive"
    first = archive_run(results)
    write_run(results, r2=(0.5, 0.6, 0.55))
    copy2, copied = shutil.copy2, []

    def full_disk(src, dst, **kw):
        if copied:  # the second file does not fit
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        copied.append(dst)
        return copy2(src, dst, **kw)

    monkeypatch.setattr(shutil, "copy2", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        archive_run(results)
    # no folder under a record's name, half-written or not: the last record is still first
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [first.name]
    assert resolve_run("last", root) == first
    monkeypatch.setattr(shutil, "copy2", copy2)
    second = archive_run(results)  # the rerun writes the record the failure lost
    assert second is not None and archives(root) == [first, second]
    assert sorted(p.name for p in root.iterdir()) == [first.name, second.name]
    assert json.loads((second / "manifest.json").read_text())["files"].keys() == {
        "summary.csv",
        "summary_by_size.csv",
        "config.json",
        "environment.json",
    }


def test_compare_same_runs_reports_no_change(tmp_path):
    a = Run.read(write_run(tmp_path / "a"))
    b = Run.read(write_run(tmp_path / "b", time=(1.05, 1.15, 0.95)))  # timing noise only
    text, table = report(a, b)
    assert "The same config." in text and "0 change(s) beyond noise." in text
    assert "The same machine, software and commit." in text
    assert set(table["r2_verdict"]) == {"~"} and set(table["fit_time_s_verdict"]) == {"~"}
    assert regressions(table, 0.001, 1.5) == []


def test_compare_flags_a_change_and_a_regression(tmp_path):
    a = Run.read(write_run(tmp_path / "a"))
    b = Run.read(
        write_run(
            tmp_path / "b",
            r2=(0.80, 0.81, 0.79),
            time=(2.0, 2.1, 1.9),
            config={"recipes": {"m": {"epochs": 3}}},
            env={**ENVIRONMENT, "packages": {"torch": "2.14.0"}},
        )
    )
    text, table = report(a, b)
    assert "| recipes.m.epochs | 5 | 3 |" in text
    assert "| packages.torch | 2.13.0 | 2.14.0 |" in text
    row = table.iloc[0]
    assert row["r2_verdict"] == "changed" and row["r2_change"] == pytest.approx(-0.11)
    assert row["fit_time_s_verdict"] == "changed" and row["fit_time_s_change"] == pytest.approx(2.0)
    assert row["train_peak_mb_verdict"] == "~"
    assert len(regressions(table, 0.001, 1.5)) == 2 and regressions(table, 0.2, 3.0) == []
    # a size in one run only cannot be compared
    write_run(tmp_path / "c")
    stats = pd.read_csv(tmp_path / "c/summary_by_size.csv").assign(n_samples=2000)
    stats.to_csv(tmp_path / "c/summary_by_size.csv", index=False)
    _, table = report(a, Run.read(tmp_path / "c"))
    assert set(table["r2_verdict"]) == {"not comparable"} and len(table) == 2


def test_verify_bit_for_bit_on_one_platform_within_tolerance_elsewhere(tmp_path):
    ref = Run.read(write_run(tmp_path / "ref"))
    same = Run.read(write_run(tmp_path / "same", time=(3.0, 3.0, 3.0)))
    text, ok = verify(same, ref)
    assert ok and "PASS (bit-identical)" in text and "×3" in text  # time is shown, not judged
    off = Run.read(write_run(tmp_path / "off", r2=(0.9, 0.92, 0.9100000001)))
    text, ok = verify(off, ref)
    assert not ok and "FAIL (differs)" in text
    elsewhere = {**ENVIRONMENT, "cpu_isa": ["avx2", "avx512f"]}
    other = Run.read(write_run(tmp_path / "other", r2=(0.902, 0.921, 0.911), env=elsewhere))
    text, ok = verify(other, ref)
    assert ok and "another platform" in text
    far = Run.read(write_run(tmp_path / "far", r2=(0.8, 0.8, 0.8), env=elsewhere))
    assert not verify(far, ref)[1]
    changed = Run.read(write_run(tmp_path / "cfg", config={"recipes": {"m": {"epochs": 6}}}))
    text, ok = verify(changed, ref)
    assert not ok and "config differs" in text and "recipes.m.epochs: 6 (reference 5)" in text


def test_dict_diff_is_dotted():
    assert dict_diff({"a": {"b": 1, "c": [1]}}, {"a": {"b": 2, "c": [1]}, "d": 0}) == [
        ("a.b", 1, 2),
        ("d", "(absent)", 0),
    ]


def test_compare_cli_exit_codes(tmp_path):
    write_run(tmp_path / "a")
    write_run(tmp_path / "b", r2=(0.5, 0.5, 0.5))
    res = subprocess.run(
        [*CLI, "compare", str(tmp_path / "a"), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert res.returncode == 0 and "| d | m | 1,000 |" in res.stdout
    res = subprocess.run(
        [*CLI, "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--fail-r2-drop", "0.001"],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert res.returncode == 1 and "Regressions past the thresholds" in res.stdout
    res = subprocess.run(
        [*CLI, "verify", str(tmp_path / "b"), str(tmp_path / "a")],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert res.returncode == 1 and res.stdout.rstrip().endswith("FAIL")
    res = subprocess.run(
        [*CLI, "compare", "last", "previous", "--archive", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert res.returncode == 2 and "holds 0 archived run(s)" in res.stderr


def test_the_shipped_reference_is_a_run_of_the_default_study():
    """`make verify` checks a run against docs/reference/default; a change to the default
    config or schema that is not followed by a new reference fails here, not only in CI."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    reference = Run.read(REPO / "docs/reference/default")
    assert dict_diff(json.loads(json.dumps(config)), reference.config) == []
    assert set(reference.runs["method"]) == set(config["recipes"])
    assert sorted(set(reference.runs["n_samples"])) == sorted(config["sizes"])
    assert sorted(set(reference.runs["seed"])) == sorted(config["seeds"])
