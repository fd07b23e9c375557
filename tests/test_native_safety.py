"""The compiled step is safe to load into a user's process: it leaves the floating-point state
as it found it, loads only the user's own undamaged build, has no undefined behaviour, and
its C struct's layout is checked against the ctypes mirror."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from interp5d.recipes import Recipe
from interp5d.training.engines import native_lib as native

CC = os.environ.get("CC", "cc")
pytestmark = pytest.mark.skipif(shutil.which(CC) is None, reason="no C compiler to build the step")

# a small default fit (the tuned recipe, native engine), then what it trained on
FIT = """
import numpy as np
from interp5d import MLPInterpolator
rng = np.random.default_rng(0)
X = rng.uniform(size=(300, 5)); y = np.sin(X).sum(axis=1)
est = MLPInterpolator(recipe={"hidden": [16, 8], "activation": "silu", "engine": "native",
                           "batch_size": 64, "epochs": 3}).fit(X, y)
print("engine", est.result_.engine)
"""


def run_python(code: str, cache: Path, **env: str) -> subprocess.CompletedProcess:
    """`code` in a new Python process whose native cache is `cache`."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "INTERP5D_CACHE": str(cache), **env},
    )


@pytest.fixture
def fresh_build(tmp_path, monkeypatch):
    """native.load forgotten and its cache in tmp_path/cache; forgotten again afterwards."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("INTERP5D_CACHE", str(cache))
    native._load_once.cache_clear()
    yield cache
    native._load_once.cache_clear()


def built_library(cache: Path) -> Path:
    """Build the step into `cache` (in another process) and return the library's path."""
    done = run_python(
        "from interp5d.training.engines import native_lib as native; native.load()", cache
    )
    assert done.returncode == 0, done.stderr
    (lib,) = cache.glob("native_step-*.so")
    return lib


def test_a_fit_leaves_subnormals_alone(tmp_path):
    """gcc's -ffast-math start-up code (flush-to-zero, denormals-are-zero) stays out of the
    library: after a native fit, subnormals survive in numpy and torch."""
    done = run_python(
        FIT
        + """
import torch
assert np.float64(1e-310) * 1.0 != 0.0, "float64 subnormal flushed"
assert np.float32(1e-40) * np.float32(1.0) != 0.0, "float32 subnormal flushed"
assert (torch.tensor([1e-40]) * 1.0).item() != 0.0, "torch subnormal flushed"
print("subnormals ok")
""",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "engine native" in done.stdout and "subnormals ok" in done.stdout


EVIL = r"""
#include <stdio.h>
__attribute__((constructor)) static void planted(void) {
    FILE *f = fopen("%s", "w");
    if (f) { fputs("ran", f); fclose(f); }
}
"""


def plant(lib: Path, marker: Path) -> None:
    """Replace `lib` by a library whose constructor writes `marker`, with its own digest
    beside it wherever the build records one (whoever can write the folder can write both)."""
    src = lib.with_suffix(".evil.c")
    src.write_text(EVIL % marker)
    subprocess.run([CC, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    src.unlink()
    record = lib.with_suffix(".sha256")
    if record.exists():
        import hashlib

        record.write_text(hashlib.sha256(lib.read_bytes()).hexdigest() + "\n")


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o1777])
def test_a_library_planted_in_a_shared_cache_is_never_loaded(tmp_path, mode):
    cache = tmp_path / "cache"
    lib = built_library(cache)
    marker = tmp_path / "constructor-ran"
    plant(lib, marker)
    cache.chmod(mode)
    done = run_python(FIT, cache)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "the planted library's constructor ran"
    assert "engine native" in done.stdout  # built privately, and trained
    assert f"{cache} is writable by" in done.stderr and "privately" in done.stderr


def test_a_library_without_the_builds_digest_is_rebuilt(tmp_path):
    """In the user's own private cache, a library that is not the one the build recorded
    (planted before the folder was made private, or copied in) is rebuilt, never loaded."""
    cache = tmp_path / "cache"
    lib = built_library(cache)
    marker = tmp_path / "constructor-ran"
    expected = lib.read_bytes()
    plant(lib, marker)
    lib.with_suffix(".sha256").unlink(missing_ok=True)  # the build's record left as it was
    done = run_python(FIT, cache)
    built_library(cache)  # (the record of the first build, as native.load finds it)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "the planted library's constructor ran"
    assert "engine native" in done.stdout
    assert lib.read_bytes() == expected  # rebuilt in place


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_library_owned_by_someone_else_is_not_loaded(tmp_path):
    cache = tmp_path / "cache"
    lib = built_library(cache)
    marker = tmp_path / "constructor-ran"
    plant(lib, marker)
    os.chown(lib, 65534, 65534)
    done = run_python(FIT, cache)
    assert done.returncode == 0, done.stderr
    assert not marker.exists() and "engine native" in done.stdout


def _text_range(path: Path) -> tuple[int, int]:
    """(offset, size) of a 64-bit little-endian ELF library's .text section."""
    import struct

    data = path.read_bytes()
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = sections[shstrndx][4]
    for name, _type, _flags, _addr, offset, size in sections:
        end = data.index(b"\0", names_off + name)
        if data[names_off + name : end] == b".text":
            return offset, size
    raise AssertionError("no .text section")


@pytest.mark.parametrize("damage", ["truncated", "zeroed code", "0xCC code", "random bytes"])
def test_a_damaged_library_is_rebuilt_and_the_fit_stays_native(tmp_path, damage):
    cache = tmp_path / "cache"
    lib = built_library(cache)
    good = lib.read_bytes()
    data = bytearray(good)
    if damage == "truncated":
        data = data[: len(data) // 3]
    elif damage == "random bytes":
        data = bytearray(np.random.default_rng(0).bytes(len(data)))
    else:
        offset, size = _text_range(lib)
        data[offset : offset + size] = bytes([0 if damage == "zeroed code" else 0xCC]) * size
    lib.chmod(0o600)
    lib.write_bytes(bytes(data))
    done = run_python(FIT, cache)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert "engine native" in done.stdout
    assert lib.read_bytes() == good  # rebuilt, so later runs load it too


def test_cache_folders_are_made_private(fresh_build):
    native.load()
    assert fresh_build.stat().st_mode & 0o777 == 0o700
    (lib,) = fresh_build.glob("native_step-*.so")
    assert lib.stat().st_mode & 0o022 == 0


def test_the_step_has_no_undefined_behaviour(tmp_path):
    """The step built with UBSan (every check fatal) trains each activation cleanly: a shift
    of a negative value in the sigmoid was reported on every SiLU fit."""
    probe = subprocess.run(
        [CC, "-fsanitize=undefined", "-x", "c", "-shared", "-fPIC", "-", "-o", "/dev/null"],
        input="int f(void) { return 0; }",
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"{CC} cannot build with -fsanitize=undefined: {probe.stderr.strip()}")
    code = FIT.replace('"silu"', "ACT").replace(
        "from interp5d import", "import sys\nfrom interp5d import"
    )
    for activation in ("silu", "relu", "tanh"):
        done = run_python(
            code.replace("ACT", repr(activation)),
            tmp_path,
            INTERP5D_NATIVE_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=all",
            UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
        )
        assert done.returncode == 0 and "runtime error" not in done.stderr, done.stderr[-2000:]
        assert "engine native" in done.stdout


def test_load_refuses_a_library_whose_layout_differs(fresh_build, monkeypatch):
    native.load()  # the mirror as it is: accepted
    fields = [f for f in native.Net._fields_ if f[0] != "averaged"]

    class Drifted(native.Net.__base__):
        _fields_ = fields

    monkeypatch.setattr(native, "Net", Drifted)
    native._load_once.cache_clear()
    with pytest.raises(native.NativeUnavailable, match="layout"):
        native.load()
    monkeypatch.undo()
    monkeypatch.setenv("INTERP5D_CACHE", str(fresh_build))
    monkeypatch.setattr(native, "ACTIVATIONS", {"relu": 0, "tanh": 1, "silu": 2})
    native._load_once.cache_clear()
    with pytest.raises(native.NativeUnavailable, match="activation"):
        native.load()


def test_the_cache_key_names_the_cpu_the_compiler_resolves(monkeypatch):
    """-march=native code is keyed by what the compiler makes of -march=native, on every
    architecture (aarch64's /proc/cpuinfo has no model name or flags lines)."""
    real_read = Path.read_text

    def no_cpuinfo(self, *args, **kwargs):
        if str(self) == "/proc/cpuinfo":
            raise OSError("no /proc/cpuinfo here")
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", no_cpuinfo)
    signature = native._cpu_signature(CC)
    assert "-march=" in signature and '-march=native"' not in signature


def test_seventeen_layers_train_on_the_fast_engine_and_are_refused_on_the_native():
    from interp5d.bench.roofline import step_roofline
    from interp5d.recipes import NATIVE_MAX_LAYERS

    deep = [8] * NATIVE_MAX_LAYERS  # 16 hidden widths: 17 layers of weights
    Recipe(hidden=deep, engine="fast")
    with pytest.raises(ValueError, match=f"engine: native takes up to {NATIVE_MAX_LAYERS}"):
        Recipe(hidden=deep, engine="native")
    Recipe(hidden=deep[1:], engine="native")  # 16 layers: the most it takes
    row = step_roofline([5, *deep, 1], 64)  # the environment job's and the paired roofline
    assert row["native_gflops_per_s"] is None and row["gflops_per_s"] > 0


def test_the_config_check_takes_seventeen_layers_on_the_fast_engine_only():
    import copy

    import yaml
    from interp5d.pipeline.config import ConfigError, check_config

    from .conftest import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    deep = copy.deepcopy(config)
    deep["recipes"]["tuned"]["hidden"] = [8] * 16
    with pytest.raises(ConfigError, match="recipes.tuned: invalid recipe: engine: native takes"):
        check_config(deep)
    deep["recipes"]["tuned"]["engine"] = "fast"
    check_config(deep)
