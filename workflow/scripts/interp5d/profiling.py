"""Exact peak-memory measurement per phase, timing helpers and analytic memory estimates."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import re
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from .train import INPLACE_ACTIVATIONS, VAL_CHUNK

MB = 1024**2
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if m is None:
        raise OSError(f"{field} not in {_STATUS}")
    return int(m.group(1))


def release_free_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the OS (glibc), so a
    phase's baseline holds only live memory and its allocations show up as growth."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def set_malloc_thresholds(mmap_bytes: int, trim_bytes: int) -> bool:
    """glibc: allocations of `mmap_bytes` or more are mapped afresh (and unmapped when
    freed), and free memory above `trim_bytes` at the heap's top goes back to the OS. Setting
    them also stops glibc adapting them. False, doing nothing, where glibc is not in use."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, mmap_bytes)
            and libc.mallopt(_M_TRIM_THRESHOLD, trim_bytes)
        )
    except (OSError, AttributeError):
        return False


def hwm_reset_supported() -> bool:
    """True where the kernel's resident high-water mark can be reset (Linux)."""
    try:
        _CLEAR_REFS.write_text("5")
        _status_kb("VmHWM")
        return True
    except OSError:
        return False


class PeakMemory:
    """Peak resident memory of this process during a `with` block, above the block's baseline.

    On Linux: reset the kernel's high-water mark at entry (write 5 to
    /proc/self/clear_refs) and read VmHWM at exit; that is exact, whatever
    happens between. Elsewhere: a psutil thread samples RSS every `period_s`.
    """

    def __init__(self, period_s: float = 0.001, force_sampling: bool = False) -> None:
        self.period_s = period_s
        self.force_sampling = force_sampling
        self.method = ""
        self.baseline_bytes = 0
        self.peak_bytes = 0

    @property
    def peak_above_baseline_mb(self) -> float:
        return (self.peak_bytes - self.baseline_bytes) / MB

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    def __enter__(self) -> PeakMemory:
        release_free_memory()
        if not self.force_sampling and hwm_reset_supported():
            self.method = "linux-vmhwm"
            self.baseline_bytes = _status_kb("VmRSS") * 1024
        else:
            self.method = f"psutil-sampling-{self.period_s * 1000:g}ms"
            self._proc = psutil.Process()
            self._max = 0
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()  # before the baseline, so its own stack is not counted
            self.baseline_bytes = self._proc.memory_info().rss
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._max = max(self._max, self._proc.memory_info().rss)
            time.sleep(self.period_s)

    def __exit__(self, *exc) -> None:
        if self.method == "linux-vmhwm":
            self.peak_bytes = _status_kb("VmHWM") * 1024
        else:
            self._stop.set()
            self._thread.join()
            self.peak_bytes = max(self._max, self._proc.memory_info().rss, self.baseline_bytes)

    def as_dict(self, prefix: str) -> dict[str, float | str]:
        return {
            f"{prefix}_peak_mb": self.peak_above_baseline_mb,
            f"{prefix}_abs_peak_mb": self.peak_mb,
            f"{prefix}_baseline_mb": self.baseline_bytes / MB,
            "memory_method": self.method,
        }


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() over `repeats` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def estimate_training_bytes(
    n_train: int,
    n_val: int,
    hidden: Sequence[int],
    batch_size: int | None,
    activation: str = "relu",
    n_in: int = 5,
    val_chunk: int = VAL_CHUNK,
) -> dict[str, int]:
    """Analytic float32 footprint of the training loop (the data tensors already exist).

    What interp5d.train allocates once and then reuses: the flat parameters with their
    gradient, Adam's two moments and a best-weights copy; for mini-batches the epoch's
    int32 permutation and the gathered batch; the workspace of one batch (each hidden
    layer's output with its ones column, its pre-activation unless the activation works
    in place as relu and tanh do, its gradient; the output and the squared errors); and
    the workspace of one validation chunk. `data` is reported beside the total, not in it.
    """
    f32 = 4
    widths = [n_in, *hidden, 1]
    n_params = sum((a + 1) * b for a, b in itertools.pairwise(widths))
    full = batch_size is None or batch_size >= n_train
    batch = n_train if full else batch_size
    pre = 0 if activation in INPLACE_ACTIVATIONS else sum(hidden)
    forward_row = sum(h + 1 for h in hidden) + pre + 2  # outputs, pre-activations, out, sq
    parts = {
        "params": 5 * n_params * f32,
        "permutation": 0 if full else n_train * 4,
        "batch": 0 if full else batch * (n_in + 2) * f32,
        "activations": batch * (forward_row + sum(hidden)) * f32,
        "validation": min(n_val, val_chunk) * forward_row * f32,
    }
    parts["total"] = sum(parts.values())
    parts["data"] = (n_train + n_val) * (n_in + 2) * f32
    return parts


def estimate_prediction_bytes(
    n_points: int, hidden: Sequence[int], chunk: int, n_in: int = 5
) -> int:
    """Analytic footprint of batched prediction: float32 input copy of one chunk, the
    widest activations of one chunk, and the float64 output."""
    rows = min(n_points, chunk)
    return rows * (n_in + 2 * max(hidden)) * 4 + n_points * 8
