"""benchmarks/step.py times two alternatives to the fast engine's step: they must train the
same network the same way, or its table compares different work."""

import argparse

import pytest

from .conftest import load_benchmark

# the benchmark measures TorchScript because it is an obvious way round the step's fixed
# cost; that torch 2.13 deprecates it is said in its docstring, not news to each test run
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(scope="module")
def step_benchmark():
    return load_benchmark("step")


@pytest.mark.parametrize("activation", ["silu", "relu"])
@pytest.mark.parametrize("batch", [8, 64])
def test_scripted_and_two_thread_steps_train_as_the_engine_does(step_benchmark, activation, batch):
    # each alternative's parameters after 10 steps on the same batches (raises if off)
    assert step_benchmark.check(activation, batch) <= 1e-5


# the scripted step's arguments end (..., avg, avg_weight, lr, beta2, weight_decay, silu):
# zero the learning rate (its parameters stay where they started) or the average's weight
# (it trains as the engine does but never moves the weights' average)
@pytest.mark.parametrize(("zeroed", "kept"), [(-4, "flat"), (-5, "avg")])
def test_the_check_catches_a_step_that_differs(step_benchmark, monkeypatch, zeroed, kept):
    scripted = step_benchmark.scripted_step

    def broken(*args):
        args = list(args)
        args[zeroed] = 0.0
        scripted(*args)

    monkeypatch.setattr(step_benchmark, "scripted_step", broken)
    with pytest.raises(AssertionError, match=f"{kept} parameters differ"):
        step_benchmark.check("silu", 8)


@pytest.mark.parametrize("text", ["9", "0", "7002"])
def test_batches_split_into_two_equal_halves_within_the_data(step_benchmark, text):
    # an odd batch has unequal halves (the second thread's workspace would not fit it)
    with pytest.raises(argparse.ArgumentTypeError, match="need an even batch"):
        step_benchmark.batch_size(text)
