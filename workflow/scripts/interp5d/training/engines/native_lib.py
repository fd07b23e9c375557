"""The native library: the training step (native_step.c), a fitted model's one point, a
Gaussian process's (gp_point.c) and a network's (mlp_point.c), which fastpath.py calls, and
a Gaussian process's correlation and likelihood gradient (gp_corr.c, for gp_kernels.py);
built with the system C compiler on first use, cached, and loaded with ctypes; the step's
matrix products call the sgemm that torch's own library holds.

Compiled with -march=native and -ffast-math (which lets the compiler vectorise the step), but
linked without -ffast-math: gcc would otherwise add its start-up code that turns on
flush-to-zero for the whole process. The cache key holds the source, the flags, the
compiler's version and what the compiler makes of -march=native, so a library built for one
CPU is never loaded on another.

Only the user's own build is loaded: the cache folder and every file read from it must be
owned by the user and writable by no one else (else the step is built in a private folder
for this process, with a warning), and the library must match the digest its build
recorded (else it is rebuilt). The library's struct layout is checked against the ctypes
mirror below before any call. When the step cannot be had (no compiler, a torch without
sgemm, a failed build) `load` says why, and the training loop falls back to the fast engine
(and fastpath to numpy).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import torch

from interp5d.recipes import NATIVE_MAX_LAYERS

SOURCES = tuple(
    Path(__file__).with_name(name)
    for name in ("native_step.c", "gp_point.c", "mlp_point.c", "gp_corr.c")
)
COMPILE_FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp-simd", "-fPIC")
LINK_FLAGS = ("-shared", "-fPIC")  # no -ffast-math here: see the module's docstring
# extra flags for both steps (the sanitizers' build of `make test-sanitize`); in the key
EXTRA_FLAGS_ENV = "INTERP5D_NATIVE_CFLAGS"
MAX_LAYERS = NATIVE_MAX_LAYERS  # native_step.c's; load checks the library agrees
ACTIVATIONS = {"relu": 0, "silu": 1, "tanh": 2}  # native_step.c's ids; load checks them
C_ACTIVATIONS = ("relu", "silu", "tanh")  # the order interp5d_layout gives their ids in
POINT_INPUTS = 5  # mlp_point.c's MLP_INPUTS: a point's inputs, passed by value; load checks

log = logging.getLogger("interp5d")
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


def _not_yours(path: Path, st: os.stat_result) -> str | None:
    """Why a cached file or folder is not safe to trust, or None: it must be the user's own
    and writable by no one else (a sticky bit does not stop others adding files)."""
    if st.st_uid != os.geteuid():
        return f"{path} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
    if st.st_mode & 0o022:
        who = " and ".join(
            w for w, bit in (("group", 0o020), ("others", 0o002)) if st.st_mode & bit
        )
        return f"{path} is writable by {who} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _cpu_signature(compiler: str) -> str:
    """What the compiler makes of -march=native: its driver's resolved command line (the
    CPU's name and each instruction set, on every architecture)."""
    done = subprocess.run(
        [compiler, "-march=native", "-###", "-E", "-"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise NativeUnavailable(f"{compiler} -march=native fails: {done.stderr.strip()[-300:]}")
    return done.stderr


def _extra_flags() -> list[str]:
    return shlex.split(os.environ.get(EXTRA_FLAGS_ENV, ""))


def _sgemm_address() -> int:
    lib = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        return ctypes.cast(ctypes.CDLL(str(lib)).sgemm_, ctypes.c_void_p).value
    except (OSError, AttributeError) as e:
        raise NativeUnavailable(f"no sgemm_ in {lib}: {e}") from None


def _cache_folder() -> tuple[Path, bool]:
    """The cache folder, made 0700 if new, and False; or, where it is not the user's alone
    (or cannot be made), a new private folder for this process only, and True."""
    folder = cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        problem = _not_yours(folder, folder.stat())
    except OSError as e:
        problem = f"{folder} cannot be made ({e.strerror})"
    if problem is None:
        return folder, False
    private = Path(tempfile.mkdtemp(prefix="interp5d-native-"))
    log.warning(
        "the native step's cache is not safe to load from (%s): building it privately in %s",
        problem,
        private,
    )
    return private, True


def _read_own(path: Path) -> bytes | None:
    """A cached file's bytes if it is a regular file of the user's alone, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # missing, or a symbolic link
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or _not_yours(path, st):
            return None
        return fh.read()


def _verified(library: Path) -> bool:
    """Whether the library is the user's own and matches the digest its build recorded."""
    record, data = _read_own(library.with_suffix(".sha256")), _read_own(library)
    return (
        record is not None
        and data is not None
        and hashlib.sha256(data).hexdigest() == record.decode(errors="replace").strip()
    )


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NativeUnavailable(f"{command[0]} failed {what}: {done.stderr.strip()}")


def _build(compiler: str, folder: Path) -> Path:
    """The library in `folder`: the cached one where it is verified, else built, with the
    digest of what was built recorded beside it."""
    version = subprocess.run(
        [compiler, "--version"], capture_output=True, text=True, check=False
    ).stdout
    extra = _extra_flags()
    key_text = [
        *(source.read_text() for source in SOURCES),
        *COMPILE_FLAGS,
        *LINK_FLAGS,
        *extra,
        version,
    ]
    key = hashlib.sha256("\0".join([*key_text, _cpu_signature(compiler)]).encode()).hexdigest()
    target = folder / f"native_step-{key[:16]}.so"
    if _verified(target):
        return target
    # built in a private folder beside the target and renamed into place: jobs that build
    # at once never load a partial file, and a damaged one is replaced
    with tempfile.TemporaryDirectory(dir=folder) as work:
        lib, record = Path(work) / "step.so", Path(work) / "step.sha256"
        objects = [str(Path(work) / source.with_suffix(".o").name) for source in SOURCES]
        for source, obj in zip(SOURCES, objects, strict=True):
            _run([compiler, *COMPILE_FLAGS, *extra, "-c", str(source), "-o", obj], "compiling")
        _run([compiler, *LINK_FLAGS, *extra, *objects, "-o", str(lib), "-lm"], "linking")
        lib.chmod(0o700)
        record.write_text(hashlib.sha256(lib.read_bytes()).hexdigest() + "\n")
        os.replace(record, target.with_suffix(".sha256"))
        os.replace(lib, target)
    return target


def _layout_problem(lib: ctypes.CDLL) -> str | None:
    """How the library's Net, MAX_LAYERS or activation ids differ from this module's, or None."""
    n = len(Net._fields_)
    got = (ctypes.c_int64 * (n + 5))()
    written = lib.interp5d_layout(got, len(got))
    mine = [ctypes.sizeof(Net), MAX_LAYERS, *(ACTIVATIONS.get(a, -1) for a in C_ACTIVATIONS)]
    mine += [getattr(Net, name).offset for name, _ in Net._fields_]
    theirs = list(got)[: max(written, 0)]
    if theirs == mine:
        return None
    names = ["sizeof(Net)", "MAX_LAYERS", *(f"activation {a!r}" for a in C_ACTIVATIONS)]
    names += [f"offset of {name}" for name, _ in Net._fields_]
    if written != len(mine):
        where = [f"its Net has {written - 5} fields, the mirror {n}"]
    else:
        pairs = zip(names, theirs, mine, strict=True)
        where = [f"{k}: {a} in C, {b} here" for k, a, b in pairs if a != b]
    return f"the library's layout differs from native.py's mirror ({'; '.join(where[:3])})"


def _load() -> tuple[ctypes.CDLL, int]:
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        raise NativeUnavailable(f"no C compiler: {compiler!r} is not on PATH (set CC)")
    sgemm = _sgemm_address()
    folder, private = _cache_folder()
    try:
        library = _build(compiler, folder)
        lib = ctypes.CDLL(str(library))
    finally:
        if private:  # a loaded library stays mapped: nothing of it is left behind
            shutil.rmtree(folder, ignore_errors=True)
    lib.interp5d_layout.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
    lib.interp5d_layout.restype = ctypes.c_int
    problem = _layout_problem(lib)
    if problem is not None:
        raise NativeUnavailable(problem)
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
    lib.interp5d_gp_inputs.argtypes = []
    lib.interp5d_gp_inputs.restype = c_int
    # Z, alpha, n, a, b, 2ν, the point's five inputs, the gradient's buffer or None
    pointer_args = [ctypes.c_void_p] * 2 + [c_int] + [ctypes.c_void_p] * 2 + [c_int]
    lib.interp5d_gp_point.argtypes = [*pointer_args, *[ctypes.c_double] * 5, ctypes.c_void_p]
    lib.interp5d_gp_point.restype = ctypes.c_double
    # the same leading arguments, then X, m and the output's buffer
    lib.interp5d_gp_points.argtypes = [*pointer_args, ctypes.c_void_p, c_int, ctypes.c_void_p]
    lib.interp5d_gp_points.restype = None
    lib.interp5d_mlp_layout.argtypes = [ctypes.POINTER(ctypes.c_int64), c_int]
    lib.interp5d_mlp_layout.restype = c_int
    ids = (ctypes.c_int64 * 8)()
    written = lib.interp5d_mlp_layout(ids, len(ids))
    mine = [*(ACTIVATIONS[a] for a in C_ACTIVATIONS), POINT_INPUTS]
    if list(ids)[: max(written, 0)] != mine:
        raise NativeUnavailable(
            f"mlp_point.c's activation ids and inputs {list(ids)[:written]} differ from "
            f"native_lib.py's {mine}"
        )
    # layers, widths, parameters, activation, the point's five inputs, the gradient or None
    lib.interp5d_mlp_point.argtypes = [
        *(c_int, ctypes.c_void_p, ctypes.c_void_p, c_int),
        *[ctypes.c_double] * 5,
        ctypes.c_void_p,
    ]
    lib.interp5d_mlp_point.restype = ctypes.c_double
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    # A, m, Bᵀ, k, inputs, scale, 2ν, upper, R
    lib.interp5d_gp_corr.argtypes = [ptr, i64, ptr, i64, i64, ptr, c_int, c_int, ptr]
    lib.interp5d_gp_corr.restype = c_int
    # Xᵀ, m, inputs, scale, 2ν, W, R, g
    lib.interp5d_gp_corr_grad.argtypes = [ptr, i64, i64, ptr, c_int, ptr, ptr, ptr]
    lib.interp5d_gp_corr_grad.restype = c_int
    # this thread's MXCSR: read, set, and its flush-to-zero and denormals-are-zero bits
    lib.interp5d_fp_mode.argtypes = []
    lib.interp5d_fp_mode.restype = ctypes.c_uint
    lib.interp5d_set_fp_mode.argtypes = [ctypes.c_uint]
    lib.interp5d_set_fp_mode.restype = None
    lib.interp5d_fp_flush_bits.argtypes = []
    lib.interp5d_fp_flush_bits.restype = ctypes.c_uint
    return lib, sgemm


@functools.cache
def _load_once() -> tuple[ctypes.CDLL, int] | NativeUnavailable:
    try:
        return _load()
    except NativeUnavailable as e:
        return e
    except OSError as e:  # the cache or the compiler cannot be used, or dlopen refused it
        why = NativeUnavailable(f"{type(e).__name__}: {e}")
        why.__cause__ = e  # kept for the traceback of whoever raises it
        return why


def load() -> tuple[ctypes.CDLL, int]:
    """The built library and sgemm's address; NativeUnavailable says why not. Built once
    per machine, loaded once per process (a failure is remembered too)."""
    got = _load_once()
    if isinstance(got, NativeUnavailable):
        # a new exception each time (the remembered one is not re-raised: its traceback
        # would grow with every raise), chained to it for the first failure's context
        raise NativeUnavailable(str(got)) from got
    return got


def optional() -> ctypes.CDLL | None:
    """The built library where it loads, else None (its callers' numpy forms then serve:
    no compiler, a failed build)."""
    try:
        return load()[0]
    except NativeUnavailable:
        return None


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
