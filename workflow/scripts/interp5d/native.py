"""The native step (native_step.c): built with the system C compiler on first use, cached,
and loaded with ctypes; its matrix products call the sgemm that torch's own library holds.

Built with -march=native and -ffast-math (which lets the compiler call glibc's vector expf
for SiLU): the cache key holds the source, the flags, the compiler's version and the CPU's
model and flags, so a library built on one CPU is never loaded on another. When the step
cannot be had (no compiler, a torch without sgemm, a failed build or load) `load`
says why, and the training loop falls back to the fast engine.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("native_step.c")
FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp-simd", "-shared", "-fPIC")
MAX_LAYERS = 16  # as native_step.c's
ACTIVATIONS = {"relu": 0, "silu": 1, "tanh": 2}

_f = ctypes.POINTER(ctypes.c_float)
I32 = ctypes.POINTER(ctypes.c_int32)


class Net(ctypes.Structure):
    """native_step.c's Net, field for field."""

    _fields_ = [
        ("sgemm", ctypes.c_void_p),
        ("n_layers", ctypes.c_int),
        ("widths", ctypes.c_int * (MAX_LAYERS + 1)),
        ("activation", ctypes.c_int),
        ("chunk_rows", ctypes.c_int),
        ("n_params", ctypes.c_int),
        ("params", _f),
        ("grad", _f),
        ("m", _f),
        ("v", _f),
        ("avg", _f),
        ("outputs", _f * MAX_LAYERS),
        ("saved", _f * MAX_LAYERS),
        ("deltas", _f * MAX_LAYERS),
        ("out", _f),
        ("sq", _f),
        ("beta1", ctypes.c_float),
        ("beta2", ctypes.c_float),
        ("weight_decay", ctypes.c_float),
        ("eps", ctypes.c_float),
        ("ema_decay", ctypes.c_float),
        ("t", ctypes.c_int64),
        ("averaged", ctypes.c_int),
    ]


class NativeUnavailable(RuntimeError):
    """Why the native step cannot be used here."""


def pointer(t: torch.Tensor | None, kind=_f):
    """A pointer (to float, or `kind`) to a CPU tensor's data (NULL for None)."""
    if t is None:
        return kind()
    return ctypes.cast(t.data_ptr(), kind)


def index_pointer(t: torch.Tensor | None):
    """An int32 pointer to an index tensor's data (NULL for None)."""
    return pointer(t, I32)


def cache_dir() -> Path:
    """$INTERP5D_CACHE, else $XDG_CACHE_HOME/interp5d, else ~/.cache/interp5d."""
    if os.environ.get("INTERP5D_CACHE"):
        return Path(os.environ["INTERP5D_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "interp5d"


def _cpu_signature() -> str:
    """The CPU's model and instruction-set flags, as -march=native sees them."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    keep = [ln for ln in lines if ln.split(":")[0].strip() in ("model name", "flags")]
    return "\n".join(dict.fromkeys(keep))  # each distinct line once (every core repeats them)


def _sgemm_address() -> int:
    lib = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        return ctypes.cast(ctypes.CDLL(str(lib)).sgemm_, ctypes.c_void_p).value
    except (OSError, AttributeError) as e:
        raise NativeUnavailable(f"no sgemm_ in {lib}: {e}") from None


def _build(compiler: str) -> Path:
    version = subprocess.run(
        [compiler, "--version"], capture_output=True, text=True, check=False
    ).stdout
    key = hashlib.sha256(
        "\0".join([SOURCE.read_text(), *FLAGS, version, _cpu_signature()]).encode()
    ).hexdigest()[:16]
    target = cache_dir() / f"native_step-{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # built beside the target and renamed: jobs that build at once never load a partial file
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run(
            [compiler, *FLAGS, str(SOURCE), "-o", tmp, "-lm"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise NativeUnavailable(f"{compiler} failed on {SOURCE.name}: {done.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _load() -> tuple[ctypes.CDLL, int]:
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        raise NativeUnavailable(f"no C compiler: {compiler!r} is not on PATH (set CC)")
    sgemm = _sgemm_address()
    lib = ctypes.CDLL(str(_build(compiler)))
    net = ctypes.POINTER(Net)
    c_int = ctypes.c_int
    lib.interp5d_step.argtypes = [net, _f, c_int, _f, c_int, c_int, ctypes.c_float, _f, I32]
    lib.interp5d_step.restype = None
    lib.interp5d_steps.argtypes = [
        *(net, _f, c_int, _f, c_int, c_int),
        *(ctypes.POINTER(c_int), _f, _f, ctypes.POINTER(I32)),
    ]
    lib.interp5d_steps.restype = None
    lib.interp5d_sse.argtypes = [net, _f, _f, c_int, _f, c_int, c_int]
    lib.interp5d_sse.restype = ctypes.c_double
    lib.interp5d_step_products.argtypes = [net, _f, c_int, c_int]
    lib.interp5d_step_products.restype = None
    lib.interp5d_silu.argtypes = [_f, _f, c_int]
    lib.interp5d_silu.restype = None
    return lib, sgemm


@functools.cache
def _load_once() -> tuple[ctypes.CDLL, int] | NativeUnavailable:
    try:
        return _load()
    except NativeUnavailable as e:
        return e
    except Exception as e:  # anything else of building or loading: the same fallback
        return NativeUnavailable(f"{type(e).__name__}: {e}")


def load() -> tuple[ctypes.CDLL, int]:
    """The built library and sgemm's address; NativeUnavailable says why not. Built once
    per machine, loaded once per process (a failure is remembered too)."""
    got = _load_once()
    if isinstance(got, NativeUnavailable):
        raise NativeUnavailable(str(got))
    return got


def unavailable_reason(device, activation: str) -> str | None:
    """Why the native step cannot train this recipe on this device, or None if it can."""
    if torch.device(device).type != "cpu":
        return f"it runs on the CPU only, not {torch.device(device).type}"
    if activation not in ACTIVATIONS:
        return f"it has no {activation!r} activation (it has {', '.join(ACTIVATIONS)})"
    try:
        load()
    except NativeUnavailable as e:
        return str(e)
    return None
