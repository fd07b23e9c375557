"""The conda environment file, checked offline: channels, exact pins, agreement with pip."""

import re

import yaml

from .conftest import REPO

# conda-forge package names that differ from their PyPI names
CONDA_TO_PIP = {"pytorch-cpu": "torch", "matplotlib-base": "matplotlib"}
NOT_FROM_PIP = {"python"}  # the interpreter; pip cannot pin it


def pip_pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert m, f"{path.name}: not an exact pin: {line!r}"
        pins[m[1].lower()] = m[3]
    return pins


def conda_env():
    return yaml.safe_load((REPO / "envs/interp5d.yaml").read_text())


def test_channels_are_conda_forge_without_defaults():
    assert conda_env()["channels"] == ["conda-forge", "nodefaults"]


def test_every_conda_dependency_is_an_exact_pin_that_matches_pip():
    pins = pip_pins(REPO / "requirements.txt")
    seen = set()
    for dep in conda_env()["dependencies"]:
        assert isinstance(dep, str), f"unexpected entry {dep!r}"
        m = re.fullmatch(r"([a-z0-9_.-]+)=([0-9][^=\s*]*)", dep)
        assert m, f"envs/interp5d.yaml: not an exact pin: {dep!r}"
        name, version = m[1], m[2]
        if name in NOT_FROM_PIP:
            assert name == "python" and version.startswith("3.11.")
            continue
        pip_name = CONDA_TO_PIP.get(name, name)
        assert pip_name in pins, f"{name} is in the conda env but not in requirements.txt"
        assert pins[pip_name] == version, f"{name}: conda {version} != pip {pins[pip_name]}"
        seen.add(pip_name)
    # everything the rules import at run time is in the conda env (snakemake runs them)
    assert seen == set(pins) - {"snakemake"}


def test_torch_is_pinned_exactly_everywhere():
    assert pip_pins(REPO / "requirements.txt")["torch"] == "2.13.0"
    for f in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        text = (REPO / f).read_text()
        for m in re.finditer(r"^\s*\"?torch\b(.*)$", text, re.MULTILINE):
            assert m[1].startswith("==2.13.0"), f"{f}: torch must be ==2.13.0, got {m[0]!r}"


def test_dev_requirements_are_exact_pins():
    pins = pip_pins(REPO / "requirements-dev.txt")
    assert {"pytest", "ruff", "snakefmt", "snakemake-executor-plugin-slurm"} <= set(pins)


def test_every_rule_has_conda_and_log():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk"))
    blocks = re.split(r"^rule ", rules, flags=re.MULTILINE)[1:]
    assert blocks
    for block in blocks:
        name = block.split(":")[0]
        assert "conda:" in block and "log:" in block, f"rule {name} lacks conda: or log:"
