"""The pinned environments: the direct pins, the locks of every transitive package, the
conda environment at the same versions (checked offline, and built where conda exists)."""

import re
import shutil
import sys

import pytest
import yaml

from .conftest import REPO, copy_workflow, snakemake

sys.path.insert(0, str(REPO / "tools"))
from lock import CONDA_NAMES, NOT_IN_CONDA_ENV


def normal(name: str) -> str:
    return name.lower().replace("_", "-")


def pip_pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert m, f"{path.name}: not an exact pin: {line!r}"
        pins[normal(m[1])] = m[3]
    return pins


def conda_env():
    return yaml.safe_load((REPO / "envs/interp5d.yaml").read_text())


def test_channels_are_conda_forge_without_defaults():
    assert conda_env()["channels"] == ["conda-forge", "nodefaults"]


def test_the_locks_hold_the_direct_pins_and_each_other():
    runtime, dev = pip_pins(REPO / "requirements.lock"), pip_pins(REPO / "requirements-dev.lock")
    for direct, lock in (("requirements.txt", runtime), ("requirements-dev.txt", dev)):
        for name, version in pip_pins(REPO / direct).items():
            assert lock.get(name) == version, f"{direct}: {name}=={version}, lock {lock.get(name)}"
    # the development tools do not move a runtime package
    assert {n: dev.get(n) for n in runtime} == runtime
    assert len(runtime) > 3 * len(pip_pins(REPO / "requirements.txt"))  # transitive too


def test_every_conda_dependency_is_the_locks_version():
    runtime = pip_pins(REPO / "requirements.lock")
    back = {conda: pip for pip, conda in CONDA_NAMES.items()}
    seen = set()
    for dep in conda_env()["dependencies"]:
        assert isinstance(dep, str), f"unexpected entry {dep!r}"
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)=([0-9][^=\s*]*)", dep)
        assert m, f"envs/interp5d.yaml: not an exact pin: {dep!r}"
        name, version = m[1], m[2]
        if name == "python":
            assert version.startswith("3.11.")
            continue
        pip_name = normal(back.get(name, name))
        assert runtime.get(pip_name) == version, (
            f"{name}: conda {version}, lock {runtime.get(pip_name)}"
        )
        seen.add(pip_name)
    # everything the rules' scripts import at run time, Snakemake itself aside
    assert seen == set(runtime) - NOT_IN_CONDA_ENV


def test_torch_is_pinned_exactly_everywhere():
    for f in ("requirements.txt", "requirements.lock", "requirements-dev.lock"):
        assert pip_pins(REPO / f)["torch"] == "2.13.0", f
    for f in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        text = (REPO / f).read_text()
        for m in re.finditer(r"^\s*\"?torch\b(.*)$", text, re.MULTILINE):
            assert m[1].startswith("==2.13.0"), f"{f}: torch must be ==2.13.0, got {m[0]!r}"
    assert "pytorch-cpu=2.13.0" in conda_env()["dependencies"]


def test_dev_requirements_are_exact_pins():
    pins = pip_pins(REPO / "requirements-dev.txt")
    assert {"pytest", "ruff", "snakefmt", "snakemake-executor-plugin-slurm", "playwright"} <= set(
        pins
    )


def test_every_rule_has_conda_and_log():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk"))
    blocks = re.split(r"^rule ", rules, flags=re.MULTILINE)[1:]
    assert blocks
    for block in blocks:
        name = block.split(":")[0]
        assert "conda:" in block and "log:" in block, f"rule {name} lacks conda: or log:"


CONDA = shutil.which("mamba") or shutil.which("conda")


@pytest.mark.workflow
@pytest.mark.skipif(
    CONDA is None,
    reason="neither conda nor mamba is installed here, so the pinned conda environment "
    "(envs/interp5d.yaml) cannot be built; its pins are checked offline above",
)
def test_conda_env_builds_and_runs_a_tiny_study(tmp_path):
    from .test_workflow import TINY

    d = copy_workflow(tmp_path)
    (d / "config.yaml").write_text(
        yaml.safe_dump({**TINY, "sizes": [60], "seeds": [1], "baselines": {}})
    )
    snakemake(d, "--sdm", "conda", "--conda-create-envs-only", "--cores", "1", timeout=3600)
    snakemake(d, "--sdm", "conda", "--cores", "2", timeout=1800)
    assert (d / "results/summary.csv").exists()
