"""Thread counts set for a block and set back after it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to n inside the block (unchanged for None), then back."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def thread_limits(n: int) -> Iterator[None]:
    """n threads for torch and for every BLAS and OpenMP pool (numpy, scipy, scikit-learn)."""
    from threadpoolctl import threadpool_limits

    with torch_threads(n), threadpool_limits(n):
        yield
