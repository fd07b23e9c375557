"""Exact peak-memory measurement per phase, timing helpers and analytic memory estimates."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import psutil

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


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Inside the block, the objects alive at its start (modules, classes: hundreds of
    thousands once torch and scikit-learn are imported) are left out of garbage collection,
    so the meters' collections take milliseconds rather than a tenth of a second each."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
GLIBC_DEFAULT_THRESHOLDS = (128 * 1024, 128 * 1024)  # its starting values (mmap, trim)
_thresholds: list[tuple[int, int]] = []  # what the enclosing malloc_thresholds blocks set


def _mallopt(mmap_bytes: int, trim_bytes: int) -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, mmap_bytes)
            and libc.mallopt(_M_TRIM_THRESHOLD, trim_bytes)
        )
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def malloc_thresholds(mmap_bytes: int, trim_bytes: int) -> Iterator[bool]:
    """glibc, inside the block: allocations of `mmap_bytes` or more are mapped afresh (and
    unmapped when freed), and free memory above `trim_bytes` at the heap's top goes back to
    the OS. On leaving, the enclosing block's values are set back, or glibc's starting ones
    (glibc has no call that reads them, and once set it no longer adapts them). Yields
    False, doing nothing, where glibc is not in use."""
    ok = _mallopt(mmap_bytes, trim_bytes)
    _thresholds.append((mmap_bytes, trim_bytes))
    try:
        yield ok
    finally:
        _thresholds.pop()
        if ok:
            _mallopt(*(_thresholds[-1] if _thresholds else GLIBC_DEFAULT_THRESHOLDS))


def hwm_reset_supported() -> bool:
    """True where the kernel's resident high-water mark can be reset (Linux)."""
    try:
        _CLEAR_REFS.write_text("5")
        _status_kb("VmHWM")
        return True
    except OSError:
        return False


_HWM_RESET = hwm_reset_supported()


class PeakMemory:
    """Peak resident memory of this process during a `with` block, above the block's baseline.

    On Linux: reset the kernel's high-water mark at entry (write 5 to
    /proc/self/clear_refs) and read VmHWM at exit; that is exact, whatever
    happens between. Elsewhere: a psutil thread samples RSS every `period_s`.
    Meters nest: an inner one's reset first hands the mark so far to the enclosing ones.
    With `release`, free heap goes back to the OS first, so the baseline holds only live
    memory (an inner meter can skip that: its enclosing one did it, and it takes time).
    """

    _open: ClassVar[list[PeakMemory]] = []  # exact meters now inside their block

    def __init__(
        self, period_s: float = 0.001, force_sampling: bool = False, release: bool = True
    ) -> None:
        self.period_s = period_s
        self.force_sampling = force_sampling
        self.release = release
        self.method = ""
        self.baseline_bytes = 0
        self.peak_bytes = 0
        self._carried = 0  # the mark before an inner meter reset it

    @property
    def peak_above_baseline_mb(self) -> float:
        return (self.peak_bytes - self.baseline_bytes) / MB

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    def __enter__(self) -> PeakMemory:
        if self.release:
            release_free_memory()
        if not self.force_sampling and _HWM_RESET:
            self.method = "linux-vmhwm"
            if PeakMemory._open:
                mark = _status_kb("VmHWM") * 1024
                for outer in PeakMemory._open:
                    outer._carried = max(outer._carried, mark)
            _CLEAR_REFS.write_text("5")
            self.baseline_bytes = _status_kb("VmRSS") * 1024
            PeakMemory._open.append(self)
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
            PeakMemory._open.remove(self)
            self.peak_bytes = max(_status_kb("VmHWM") * 1024, self._carried)
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


def median_time(
    fn: Callable[[], object], repeats: int = 5, warmup: int = 1, budget_s: float | None = None
) -> float:
    """Median wall time of fn() over `repeats` calls after `warmup` untimed calls; with
    budget_s, fewer (at least one) once the timed calls have taken that long in all."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    while len(times) < repeats:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if budget_s is not None and sum(times) >= budget_s:
            break
    return statistics.median(times)


def estimate_prediction_bytes(
    n_points: int, hidden: Sequence[int], chunk: int, n_in: int = 5
) -> int:
    """Analytic footprint of batched prediction: float32 input copy of one chunk, the
    widest activations of one chunk, and the float64 output."""
    rows = min(n_points, chunk)
    return rows * (n_in + 2 * max(hidden)) * 4 + n_points * 8
