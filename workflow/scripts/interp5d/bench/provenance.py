"""What machine and software produced a result: recorded, not typed by hand."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = (
    "torch",
    "numpy",
    "pandas",
    "psutil",
    "matplotlib",
    "snakemake",
    "scikit-learn",
    "scipy",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# instruction sets that decide which kernels BLAS and torch run, hence the last bits
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "asimd",
    "sve",
)


def cpu_isa() -> list[str]:
    """The instruction sets of ISA_FLAGS this processor has (Linux; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in ISA_FLAGS if f in flags]
    except OSError:
        pass
    return []


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(cwd: str | Path = ".") -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def software() -> dict[str, Any]:
    """Host, CPU, Python and package versions (for every run's record: on a cluster each job
    may run on another node than the environment record's)."""
    return {
        "host": platform.node(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "packages": package_versions(),
    }


def environment_record(torch_threads: int, cwd: str | Path = ".") -> dict[str, Any]:
    """CPU, cores, RAM, OS, software versions, torch threads and the git commit."""
    import torch

    vm = psutil.virtual_memory()
    return {
        "cpu_model": cpu_model(),
        "cpu_isa": cpu_isa(),
        "machine": platform.machine(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpus_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "ram_gb": round(vm.total / 1024**3, 2),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "torch_threads": torch_threads,
        "torch_default_threads": torch.get_num_threads(),
        "torch_parallel_info": torch.__config__.parallel_info().splitlines()[:3],
        "cuda_available": torch.cuda.is_available(),
        "git_commit": git_commit(cwd),
    }
