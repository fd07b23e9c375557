"""The README is a front door and its numbers, and docs/results.md, are generated from the
shipped reference runs: the committed files are what `python -m interp5d results` writes."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from interp5d.__main__ import main, parser
from interp5d.report.results import (
    BLOCKS,
    Study,
    fill_readme,
    markers,
    provenance,
    write,
)

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# development history has no place in a user's README (CHANGELOG.md holds it)
HISTORY = {
    "an issue": r"\bissues?\b",
    # "issue 11's eighth stop", "stop 31", "this stop" (not the verb: "stops the run")
    "a development stop": r"\b(?:\w+th|first|second|third|last|this|previous|earlier|next)\s+"
    r"stop\b|\bstop\s+\d+",
    "an earlier reference": r"\b(previous|earlier|last)\s+(reference|run|stop|commit)s?\b",
    "a commit hash": r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b",
}


def test_committed_results_and_readme_are_what_the_command_writes():
    stale = write(REPO / "docs/reference", REPO / "docs/results.md", README, check=True)
    assert not stale, (
        f"{[str(p.relative_to(REPO)) for p in stale]} differ from what "
        "`python -m interp5d results docs/reference` writes: run it and commit the result"
    )


def test_readme_is_a_front_door_without_history():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for what, pattern in HISTORY.items():
        hits = [m.group(0) for m in re.finditer(pattern, text, re.I)]
        assert not hits, f"the README names {what}: {hits}"
    for name in BLOCKS:  # every generated block has its markers, in order
        start, end = markers(name)
        assert text.index(start) < text.index(end)


def _code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_every_command_and_link_in_the_readme_exists():
    text = README.read_text()
    make_targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))
    subcommands = set(parser()._subparsers._group_actions[0].choices)
    commands = [
        ln.split("#")[0].strip() for b in _code_blocks(text, "bash") for ln in b.splitlines()
    ]
    commands += re.findall(
        r"`((?:make|snakemake|python -m interp5d|\.venv/bin/python) [^`]+)`", text
    )
    checked = 0
    for cmd in filter(None, commands):
        words = cmd.split()
        if words[0] == "make":
            assert words[1] in make_targets, f"README: `{cmd}`: no make target {words[1]}"
        elif words[:3] == ["python", "-m", "interp5d"]:
            assert words[3] in subcommands, f"README: `{cmd}`: no subcommand {words[3]}"
        elif words[0] not in ("snakemake", ".venv/bin/python"):
            continue
        for w in words[1:]:  # every file or folder a command names
            if re.match(r"^(config|examples|profiles|benchmarks|docs)/", w):
                assert (REPO / w).exists(), f"README: `{cmd}` names {w}, which does not exist"
        checked += 1
    assert checked >= 10
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The Python block fits and predicts as written (from the project's folder)."""
    (code,) = _code_blocks(README.read_text(), "python")
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["model"].choice_["chosen"] in ("gp", "mlp", "blend")
    assert len(namespace["mean"]) == len(namespace["std"]) == 300


def test_readme_anchors_exist_in_the_docs():
    text = README.read_text()
    for path, anchor in re.findall(r"\]\((docs/[\w.]+|config/[\w.]+)#([\w-]+)\)", text):
        heads = re.findall(r"^#+ (.+)$", (REPO / path).read_text(), re.M)
        slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in heads}
        assert anchor in slugs, f"README links to {path}#{anchor}: no such heading"


def test_fill_readme_replaces_only_between_markers_and_names_a_missing_block():
    start, end = markers("findings")
    text = f"intro\n{start}\nold\n{end}\noutro\n"
    assert fill_readme(text, {"findings": ["new", "rows"]}) == (
        f"intro\n{start}\nnew\nrows\n{end}\noutro\n"
    )
    with pytest.raises(ValueError, match="README.md: no .*which-method"):
        fill_readme(text, {"which-method": ["x"]})


def _copy_reference(tmp_path: Path) -> Path:
    ref = tmp_path / "docs" / "reference"
    shutil.copytree(REPO / "docs/reference", ref)
    shutil.copy(README, tmp_path / "README.md")
    return ref


def test_a_changed_reference_number_makes_the_check_fail_and_the_command_rewrites(tmp_path):
    ref = _copy_reference(tmp_path)
    out, readme = tmp_path / "docs" / "results.md", tmp_path / "README.md"
    write(ref, out, readme)
    assert write(ref, out, readme, check=True) == []
    by_size = ref / "default" / "summary_by_size.csv"
    stats = pd.read_csv(by_size)
    row = (stats["method"] == "tuned") & (stats["n_samples"] == stats["n_samples"].max())
    stats.loc[row, "r2_mean"] = 0.5  # a reference run whose tuned R² was 0.5
    stats.to_csv(by_size, index=False)
    assert set(write(ref, out, readme, check=True)) == {out, readme}
    write(ref, out, readme)
    assert "0.50" in readme.read_text().split(markers("findings")[0])[1]


def test_cli_results_check_and_errors(tmp_path, capsys):
    ref = _copy_reference(tmp_path)
    out, readme = tmp_path / "docs" / "results.md", tmp_path / "README.md"
    args = [str(ref), "--out", str(out), "--readme", str(readme)]
    assert main(["results", *args]) == 0
    assert main(["results", *args, "--check"]) == 0
    readme.write_text(readme.read_text().replace(markers("studies")[1], ""))
    assert main(["results", *args, "--check"]) == 2
    assert "no '<!-- studies" in capsys.readouterr().err
    assert main(["results", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere: no such folder of reference runs" in err[0]


def test_provenance_line_says_when_the_run_did_not_record_it(tmp_path):
    ref = tmp_path / "study"
    ref.mkdir()
    env = {
        "cpu_model": "Some CPU",
        "cpu_isa": ["avx2"],
        "cpus_available": 2,
        "ram_gb": 16.0,
        "python": "3.11.7",
        "packages": {"torch": "2.13.0+cpu"},
        "torch_threads": 1,
        "git_commit": "0123456789abcdef",
    }
    (ref / "environment.json").write_text(json.dumps(env))
    (ref / "config.json").write_text("{}")
    line = provenance(Study.read(ref))
    assert line.startswith("Commit `0123456`; Some CPU (AVX2), 2 cores, 16.0 GB")
    assert "date and wall time not recorded" in line
    prov = {"commit": "fedcba9876", "date_utc": "2026-12-07 10:00", "wall_s": 90.0, "cores": 2}
    (ref / "provenance.json").write_text(json.dumps(prov | {"command": "snakemake --cores 2"}))
    line = provenance(Study.read(ref))
    assert "`fedcba9`" in line and "run 2026-12-07 10:00 UTC in 1.5 min on 2 cores" in line
    # a reference whose figures were redrawn from its tables (tools/reference.py
    # --figures-only) says so, and when
    redrawn = {"commit": "abcdef0123", "date_utc": "2026-12-08 09:00", "command": "x"}
    (ref / "provenance.json").write_text(json.dumps({"figures_redrawn": redrawn}))
    line = provenance(Study.read(ref))
    assert "not recorded with this run; figures redrawn from its tables at commit `abcdef0`" in line


def test_results_command_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "interp5d", "results", "docs/reference", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
