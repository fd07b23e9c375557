"""End-to-end and incremental behaviour of the Snakemake workflow, on a tiny config."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from interp5d.report.plots_names import FIGURE_NAMES
from interp5d.report.summary import RUN_COLUMNS
from interp5d.repro.archive import archives

from .conftest import REPO, SNAKEMAKE, copy_workflow, snakemake

pytestmark = pytest.mark.workflow

TINY = {
    "functions": ["synthetic5d"],
    "sizes": [60, 100],
    "seeds": [1, 2],
    "threads": 1,
    "recipes": {
        "seed": {"epochs": 3},
        "tuned": {"epochs": 4, "batch_size": 16, "lr": 0.01, "schedule": "cosine"},
    },
    "baselines": {"ols": {}},
}
RUNS = 1 * 2 * 3 * 2  # datasets x sizes x methods x seeds
FIGURES = [
    f"figures/{n}.png"
    for n in (*FIGURE_NAMES, "learning_curves", "time_to_quality_vs_dataset_size")
]


def planned(cwd, *args):
    """Jobs per rule in Snakemake's own dry-run plan."""
    res = snakemake(cwd, "-n", "--cores", "2", *args)
    out = res.stdout + res.stderr
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def write_config(path, **changes):
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    for key, value in changes.items():
        cfg[key] = value
    path.write_text(yaml.safe_dump(cfg))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = copy_workflow(tmp_path_factory.mktemp("tiny"))
    write_config(d / "config.yaml")
    snakemake(d, "--cores", "2")
    return d


def test_default_config_dry_run_plan():
    plan = planned(REPO, "--directory", str(REPO), "--forceall")
    assert plan == {
        "all": 1,
        "generate_dataset": 9,
        "train_profile": 18,
        "aggregate": 1,
        "environment": 1,
        "plot_summary": 6,
        "plot_learning_curves": 1,
        "plot_time_to_quality": 1,
        "config_record": 1,
        "compare_previous": 1,
        "table_html": 9,
        "front_page": 1,
    }


@pytest.mark.parametrize(
    "configfile, expected",
    [
        ("config/scaling.yaml", {"generate_dataset": 7, "train_profile": 14}),
        # 27 datasets x (2 recipes + 3 baselines)
        ("config/baselines.yaml", {"generate_dataset": 27, "train_profile": 135}),
        # 18 datasets x (3 recipes + the GP)
        ("config/uncertainty.yaml", {"generate_dataset": 18, "train_profile": 72}),
        # 2 functions x 3 plans x 3 sizes x 3 seeds, 2 recipes
        ("config/sampling.yaml", {"generate_dataset": 54, "train_profile": 108}),
        # 8 functions x (3 sizes x 5 seeds + 2 sizes x 3 seeds) x (2 recipes + 4 baselines
        # + the default), and krg at n <= 300 (8 x 2 sizes x 5 seeds)
        ("config/samples.yaml", {"generate_dataset": 168, "train_profile": 1176 + 80}),
    ],
)
def test_study_configs_plan(configfile, expected):
    plan = planned(REPO, "--directory", str(REPO), "--forceall", "--configfile", configfile)
    assert {k: plan.get(k, 0) for k in expected} == expected


def test_extra_seeds_run_at_small_sizes_only(tmp_path):
    d = copy_workflow(tmp_path)
    write_config(d / "config.yaml", extra_seeds={"up_to": 60, "seeds": [2, 3]})
    # n = 60: seeds 1, 2 and 3 (2 given twice, run once); n = 100: 1 and 2; 3 methods each
    assert planned(d)["train_profile"] == (3 + 2) * 3
    write_config(d / "config.yaml", extra_seeds={"up_to": 60})
    res = snakemake(d, "-n", check=False)
    assert res.returncode != 0
    assert "extra_seeds: 'seeds' is a required property" in res.stdout + res.stderr


def test_end_to_end_outputs(tiny_run):
    d = tiny_run
    for f in [
        "results/summary.csv",
        "results/summary_by_size.csv",
        "results/summary.md",
        "results/environment.json",
        *FIGURES,
    ]:
        assert (d / f).stat().st_size > 0, f
    runs = pd.read_csv(d / "results/summary.csv")
    assert list(runs.columns) == RUN_COLUMNS
    assert len(runs) == RUNS
    assert set(runs["status"]) == {"ok"} and runs["r2"].notna().all()
    assert (runs["oracle_r2"] > 0.99).all()
    assert runs.groupby("method")["kind"].first().to_dict() == {
        "ols": "baseline",
        "seed": "recipe",
        "tuned": "recipe",
    }
    # every run, recipe or baseline, has the fields of the one runner
    common = [
        "dataset", "method", "kind", "n_samples", "seed", "status", "fit_time_s",
        "train_peak_mb", "predict_peak_mb", "predict_latency_s", "predict_throughput_per_s",
        "mse", "r2",
    ]  # fmt: skip
    assert runs[common].notna().all().all()
    recipes = runs[runs["kind"] == "recipe"]
    assert (recipes["loop_time_s"] <= recipes["fit_time_s"]).all()
    stats = pd.read_csv(d / "results/summary_by_size.csv")
    assert len(stats) == 6 and (stats["n_runs"] == 2).all()
    for col in ("r2_mean", "r2_std", "r2_min", "r2_max", "fit_time_s_mean", "train_peak_mb_mean"):
        assert col in stats.columns
    md = (d / "results/summary.md").read_text()
    for title in ("Fit time", "Memory", "Accuracy", "seed: R²", "tuned: R²", "ols: R²"):
        assert title in md
    # samples to quality: every method × target, reached or said never; which method per size
    stq = pd.read_csv(d / "results/samples_to_quality.csv")
    assert len(stq) == 3 * 4 and set(stq["largest_n"]) == {100}
    assert (stq["reached"] == stq["n_samples"].notna()).all()
    assert stq.loc[~stq["reached"], "result"].str.startswith("never within the grid").all()
    which = pd.read_csv(d / "results/which_method.csv")
    assert which["scope"].tolist() == ["all datasets"] * 2 + ["synthetic5d"] * 2
    for title in ("## Samples to quality", "## Which method for my data"):
        assert title in md
    env = json.loads((d / "results/environment.json").read_text())
    assert env["logical_cores"] >= 1 and env["ram_gb"] > 0 and env["packages"]["torch"]
    metrics = json.loads((d / "results/runs/synthetic5d/tuned/n60_seed1/metrics.json").read_text())
    assert metrics["settings"]["method"]["settings"]["batch_size"] == 16
    assert metrics["threads"] == 1 and metrics["kind"] == "recipe"
    assert metrics["software"]["packages"]["torch"].startswith("2.13")
    assert (d / "results/benchmarks/train_profile/synthetic5d/tuned/n60_seed1.tsv").exists()
    log = (d / "results/logs/train_profile/synthetic5d/tuned/n60_seed1.log").read_text()
    assert "epoch 1/4" in log and "training finished" in log
    from PIL import Image

    for f in FIGURES:
        with Image.open(d / f) as im:
            im.verify()
            assert im.format == "PNG" and im.size[0] > 300


def test_no_op_run_has_nothing_to_do(tiny_run):
    res = snakemake(tiny_run, "--cores", "2")
    assert "Nothing to be done" in res.stdout + res.stderr


# what reruns once any run's metrics change: the tables, their pages in the report (7, and
# the comparison with the last archived run) and every figure drawn from them
DOWNSTREAM = {
    "aggregate": 1,
    "plot_summary": 6,
    "plot_time_to_quality": 1,
    "compare_previous": 1,
    "table_html": 8,
    "front_page": 1,
    "all": 1,
}
PLOTS = {"plot_summary": 6, "plot_learning_curves": 1, "plot_time_to_quality": 1, "all": 1}
# a config change of any kind changes the effective config's record, and the comparison
CONFIG = {"config_record": 1, "compare_previous": 1}


def test_changing_epochs_reruns_training_not_data(tiny_run, tmp_path):
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    cfg["recipes"]["tuned"]["epochs"] = 5
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    plan = planned(tiny_run, "--configfile", str(tmp_path / "c.yaml"))
    assert plan == {"train_profile": 4, **DOWNSTREAM, "plot_learning_curves": 1, **CONFIG}


def test_adding_a_size_runs_only_new_jobs(tiny_run, tmp_path):
    write_config(tmp_path / "c.yaml", sizes=[60, 100, 150])
    plan = planned(tiny_run, "--configfile", str(tmp_path / "c.yaml"))
    # the environment record measures the roofline of the new size's full-batch steps, and
    # its page in the report follows
    assert plan == {
        "environment": 1,
        "generate_dataset": 2,
        "train_profile": 6,
        **DOWNSTREAM,
        "table_html": 9,
        "plot_learning_curves": 1,
        **CONFIG,
    }


def test_switching_a_baseline_on_runs_only_its_jobs(tiny_run, tmp_path):
    write_config(tmp_path / "c.yaml", baselines={"ols": None, "sklearn_mlp": {"max_iter": 5}})
    plan = planned(tiny_run, "--configfile", str(tmp_path / "c.yaml"))
    assert plan == {"train_profile": 4, **DOWNSTREAM, **CONFIG}


def test_changing_a_plot_setting_reruns_only_plots(tiny_run, tmp_path):
    write_config(tmp_path / "c.yaml", plots={"dpi": 80})
    plan = planned(tiny_run, "--configfile", str(tmp_path / "c.yaml"))
    # and the record of the effective config, which the comparison's page reads
    assert plan == {**PLOTS, **CONFIG, "table_html": 1}


@pytest.mark.parametrize(
    "module, expected",
    [
        ("report/plots.py", PLOTS),
        # plots.py imports summary.py (its fitted exponents), so every figure follows it
        ("report/summary.py", {**DOWNSTREAM, **PLOTS}),
        ("methods/least_squares.py", {"train_profile": 4, **DOWNSTREAM}),
        ("training/loop.py", {"train_profile": 8, **DOWNSTREAM, "plot_learning_curves": 1}),
        ("bench/runner.py", {"train_profile": 12, **DOWNSTREAM, "plot_learning_curves": 1}),
        (
            "functions.py",
            {"generate_dataset": 4, "train_profile": 12, **DOWNSTREAM, "plot_learning_curves": 1},
        ),
    ],
)
def test_editing_module_code_reruns_exactly_its_users(tiny_run, module, expected):
    path = tiny_run / "workflow/scripts/interp5d" / module
    original = path.read_text()
    stat = path.stat()
    try:
        path.write_text(original + "\n# an edit\n")
        plan = planned(tiny_run)
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert plan == {k: v for k, v in expected.items() if v}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sizes": [-5]}, "invalid config: sizes.0: -5 is less than the minimum of 1"),
        ({"functions": ["nope"]}, "functions.0: 'nope' is not one of"),
        ({"functions": []}, "functions, datasets: both empty, so there is nothing to study"),
        ({"threads": 0}, "threads: 0 is less than the minimum of 1"),
        (
            {"typo_key": 1},
            "invalid config: Additional properties are not allowed ('typo_key' was unexpected); "
            "allowed: baselines, datasets, extra_seeds, functions,",
        ),
        (
            {"split": {"train": 0.7, "val": 0.2, "test": 0.2}},
            "split: train + val + test must sum to 1",
        ),
        ({"sizes": [5]}, "sizes: 5 rows are too few for the split"),
        # accepted once, then failing inside a job
        ({"seeds": [2**64]}, "seeds.0: 18446744073709551616 is greater than the maximum of"),
        ({"sizes": [10**12]}, "sizes: 1000000000000 rows need at least 50.9 TiB of memory"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, change, message):
    d = copy_workflow(tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg.update(change)
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(d, "--cores", "1", check=False)
    assert res.returncode != 0
    assert message in res.stdout + res.stderr
    # the problem in a few lines: not the whole schema and config after it
    assert "$schema" not in res.stdout + res.stderr
    assert not (d / "results").exists()


def test_bad_recipe_key_is_named(tmp_path):
    d = copy_workflow(tmp_path)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["recipes"]["seed"]["hiden"] = [3]
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(d, "-n", "--cores", "1", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "recipes.seed: Additional properties are not allowed " in out
    assert "('hiden' was unexpected); allowed: activation, batch_size" in out
    del cfg["recipes"]["seed"]["hiden"]
    cfg["recipes"]["tuned"]["hidden"] = []
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(d, "-n", "--cores", "1", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "recipes.tuned.hidden: [] should be non-empty" in out


def test_timed_jobs_hold_the_timed_resource():
    profile = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert profile["resources"] == {"timed": 1}
    res = snakemake(REPO, "-n", "--cores", "2", "--forceall", "--directory", str(REPO))
    blocks = [b for b in res.stdout.split("\n\n") if "rule train_profile:" in b]
    assert blocks and all("timed=1" in b for b in blocks)


def test_diverged_run_is_kept_in_tables(tmp_path):
    d = copy_workflow(tmp_path)
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    cfg.update(sizes=[60], seeds=[1], baselines={})
    cfg["recipes"] = {"wild": {"epochs": 30, "lr": 1e10, "batch_size": 8}}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(d, "--cores", "2")
    runs = pd.read_csv(d / "results/summary.csv")
    assert runs["status"].tolist() == ["diverged"] and runs["diverged_epoch"].notna().all()
    assert "1/1 diverged" in (d / "results/summary.md").read_text()
    stats = pd.read_csv(d / "results/summary_by_size.csv")
    assert stats["n_diverged"].tolist() == [1]
    # the figures mark it, without warnings about panels that have nothing to show
    for log in (d / "results/logs/plots").glob("*.log"):
        assert "Warning" not in log.read_text(), log.name


def test_killed_run_resumes_without_redoing_finished_jobs(tmp_path):
    d = copy_workflow(tmp_path)
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    cfg["recipes"]["tuned"]["epochs"] = 200
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "2"],
        cwd=d,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs = d / "results/runs"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(runs.rglob("metrics.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and its job, mid-run
    proc.wait()
    before = {p.relative_to(d).as_posix(): p.stat().st_mtime_ns for p in runs.rglob("metrics.json")}
    assert 3 <= len(before) < RUNS, "the kill should land mid-run"
    snakemake(d, "--unlock")  # a killed Snakemake leaves its lock, as after a crash
    res = snakemake(d, "-n", "--cores", "2")
    rerun = set(re.findall(r"output: (results/runs/\S+/metrics\.json)", res.stdout))
    # finished jobs are kept; the rest, including any output whose job was cut off
    # before Snakemake recorded it as complete, is planned again
    kept = set(before) - rerun
    assert kept and len(rerun) == RUNS - len(kept)
    snakemake(d, "--cores", "2")
    after = {p.relative_to(d).as_posix(): p.stat().st_mtime_ns for p in runs.rglob("metrics.json")}
    assert len(after) == RUNS
    assert all(after[p] == before[p] for p in kept)
    for p in after:
        assert json.loads((d / p).read_text())["status"] == "ok"


# one dataset, one size, one seed, one short recipe: the fewest jobs of a whole study
SMALL = {**TINY, "sizes": [60], "seeds": [1], "recipes": {"seed": {"epochs": 2}}, "baselines": {}}


def test_a_run_cut_off_after_its_last_job_is_archived(tmp_path):
    d = copy_workflow(tmp_path)
    (d / "config.yaml").write_text(yaml.safe_dump(SMALL))
    # --no-hooks: the run ends as one killed right after its last job (Snakemake's
    # end-of-run hooks never run); the lock such a kill leaves is lifted as a user would
    res = snakemake(d, "--cores", "2", "--no-hooks")
    assert "archived this run as results/archive/" in res.stdout + res.stderr
    snakemake(d, "--unlock")
    res = snakemake(d, "--cores", "2")
    assert "Nothing to be done" in res.stdout + res.stderr
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow/scripts")}
    res = subprocess.run(
        [sys.executable, "-m", "interp5d", "compare", "last", "results"],
        cwd=d,
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "The same config." in res.stdout and "0 change(s) beyond noise." in res.stdout
    assert [p.name for p in (d / "results/archive").iterdir()] == [
        archives(d / "results/archive")[0].name
    ]


def test_a_full_disk_is_named_with_the_job_and_the_path(tmp_path):
    from .test_logs import fill

    d = copy_workflow(tmp_path)
    (d / "config.yaml").write_text(yaml.safe_dump(SMALL))
    results = d / "results"
    results.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(results)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
    try:
        fill(results)
        data = "results/data/synthetic5d/n60_seed1.npz"
        res = snakemake(d, "--cores", "1", data, check=False)
    finally:
        subprocess.run(["umount", str(results)], check=True)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    # one line with the job, the file it could not write and why
    named = [
        ln
        for ln in out.splitlines()
        if "no space left on device" in ln and "generate_dataset" in ln and data in ln
    ]
    assert named, out
    assert "lost sys.stderr" not in out


def test_lint_and_format():
    res = snakemake(REPO, "--lint", "--directory", str(REPO), check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    fmt = subprocess.run(
        [
            str(REPO / ".venv/bin/snakefmt")
            if (REPO / ".venv/bin/snakefmt").exists()
            else "snakefmt",
            "--check",
            "Snakefile",
            "workflow/rules",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stderr
