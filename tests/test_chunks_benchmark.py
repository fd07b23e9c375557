"""benchmarks/chunks.py times the fast engine's step in one pass against chunks: the two
must train the same network the same way, or its table compares different work."""

import pytest

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def chunks_benchmark():
    return load_benchmark("chunks")


@pytest.mark.parametrize("activation", ["relu", "silu"])
def test_chunked_steps_train_as_the_one_pass_does(chunks_benchmark, activation):
    # 300 rows in chunks of 64 (a short last chunk), 100 and 299 (a last chunk of one row)
    assert chunks_benchmark.check(activation, 300, [64, 100, 299]) <= 1e-5


def test_the_check_catches_chunks_that_differ(chunks_benchmark, monkeypatch):
    # chunks that overwrite the gradient instead of adding to it: only the last one counts
    import interp5d.training.engines.fast as fe

    plain = fe.forward_backward

    def overwriting(*args):
        plain(*args[:7], args[7], False)

    monkeypatch.setattr(fe, "forward_backward", overwriting)
    with pytest.raises(AssertionError, match="300 rows in chunks of 64: parameters differ"):
        chunks_benchmark.check("silu", 300, [64])
