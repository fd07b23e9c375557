"""The native engine (one compiled call a step) against the fast engine it replaces: the same
step on the same buffers, built once per machine, and a fallback that says why."""

import gc
import logging
import math
import os
import shutil

import numpy as np
import pytest
import torch
from interp5d import Interpolator, native
from interp5d.fast_engine import FastEngine
from interp5d.model import build_mlp, layer_widths
from interp5d.native_engine import NativeEngine
from interp5d.recipes import Recipe
from interp5d.train import Batch, training_rows

pytestmark = pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler to build the step"
)


@pytest.fixture
def fresh_build(tmp_path, monkeypatch):
    """native.load forgotten and its cache in tmp_path; forgotten again afterwards."""
    monkeypatch.setenv("INTERP5D_CACHE", str(tmp_path))
    native._load_once.cache_clear()
    yield tmp_path
    native._load_once.cache_clear()


@pytest.mark.parametrize("activation", ["relu", "silu", "tanh"])
@pytest.mark.parametrize("chunk_rows", [400, 64, 399])  # one pass, a short last chunk, one row
@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_the_native_step_is_the_fast_step(activation, chunk_rows, ema_decay):
    torch.manual_seed(0)
    model = build_mlp(5, (16, 8), activation)
    batch = Batch.of(training_rows(torch.randn(400, 5), torch.randn(400)))
    recipe = Recipe(activation=activation, beta2=0.99, weight_decay=1e-3, ema_decay=ema_decay)
    widths = layer_widths(model)
    fast, ours = (
        cls(widths, recipe, 400, 400, 1000, False, "cpu", chunk_rows=chunk_rows)
        for cls in (FastEngine, NativeEngine)
    )
    val = training_rows(torch.randn(1000, 5), torch.randn(1000))
    for eng in (fast, ours):
        eng.load(model)
    for k in range(5):
        for eng in (fast, ours):
            eng.step(batch, 0.05 / (k + 1))
        # every step's gradient, not only where the weights end
        torch.testing.assert_close(ours.flat_grad, fast.flat_grad, rtol=1e-4, atol=1e-6)
    for a, b in [(ours.flat, fast.flat), (ours.opt.m, fast.opt.m), (ours.opt.v, fast.opt.v)]:
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ours.weights, fast.weights, rtol=1e-4, atol=1e-6)
    assert ours.take_train_sse() == pytest.approx(fast.take_train_sse(), rel=1e-5)
    # validation (of the average, when there is one) over more rows than a chunk holds
    assert ours.val_mse(val) == pytest.approx(fast.val_mse(val), rel=1e-5)
    assert not torch.equal(ours.flat, torch.cat([p.flatten() for p in model.parameters()]))


def test_the_native_engine_trains_as_the_fast_engine_does(monkeypatch):
    # a whole fit (warm-up then cosine, weight decay, the moving average, the best
    # validation's weights restored), mini-batches with a short last one and, with chunks
    # of 64 rows, the full batch
    from interp5d import get_function

    monkeypatch.setattr("interp5d.fast_engine.CHUNK_ROWS", 64)
    X, y, _ = get_function("synthetic5d").sample(500, seed=3)
    for batch_size in (64, None):
        recipe = {
            "epochs": 12,
            "batch_size": batch_size,
            "lr": 0.05,
            "beta2": 0.99,
            "activation": "silu",
            "schedule": "cosine",
            "warmup_epochs": 2,
            "weight_decay_n": 0.3,
            "ema_decay": 0.9,
            "restore_best": True,
        }
        fast, ours = (
            Interpolator({**recipe, "engine": e}, seed=5).fit(X[:400], y[:400], X[400:], y[400:])
            for e in ("fast", "native")
        )
        assert ours.fit_record()["engine"] == "native" and fast.fit_record()["engine"] == "fast"
        assert ours.result_.best_epoch == fast.result_.best_epoch
        for losses in ("train_loss", "val_loss"):
            np.testing.assert_allclose(ours.history_[losses], fast.history_[losses], 1e-4)
        np.testing.assert_allclose(ours.predict(X), fast.predict(X), rtol=1e-4, atol=1e-5)


def test_built_once_per_machine_and_cpu(fresh_build, monkeypatch):
    native.load()
    built = list(fresh_build.glob("native_step-*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    native._load_once.cache_clear()
    native.load()  # a new process: the library found, not built again
    assert list(fresh_build.glob("native_step-*.so")) == built
    assert built[0].stat().st_mtime_ns == stamp
    # -march=native code for another CPU is another library
    monkeypatch.setattr(native, "_cpu_signature", lambda: "model name: another CPU")
    native._load_once.cache_clear()
    native.load()
    assert len(list(fresh_build.glob("native_step-*.so"))) == 2
    assert not list(fresh_build.glob("*.so.*")) and len(list(fresh_build.iterdir())) == 2


def test_falls_back_to_the_fast_engine_saying_why(fresh_build, monkeypatch, caplog):
    X, y = np.random.default_rng(0).uniform(size=(120, 5)), np.zeros(120)
    recipe = {"epochs": 2, "batch_size": 32, "engine": "native"}
    caplog.set_level(logging.WARNING, logger="interp5d")
    est = Interpolator({**recipe, "activation": "gelu"}).fit(X, y)
    assert est.fit_record()["engine"] == "fast"
    assert "native engine cannot train here (it has no 'gelu' activation" in caplog.text
    monkeypatch.setenv("CC", "no-such-compiler")
    caplog.clear()
    est = Interpolator(recipe).fit(X, y)
    assert est.fit_record()["engine"] == "fast"
    assert "'no-such-compiler' is not on PATH" in caplog.text
    assert not list(fresh_build.iterdir())  # nothing half-built left
    # a compiler that fails: its message, and again nothing left behind
    broken = fresh_build / "cc"
    broken.write_text("#!/bin/sh\necho 'cc: out of licences' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CC", str(broken))
    native._load_once.cache_clear()
    with pytest.raises(native.NativeUnavailable, match="out of licences"):
        native.load()
    assert sorted(p.name for p in fresh_build.iterdir()) == ["cc"]


def test_the_roofline_times_the_native_products_too():
    from interp5d.roofline import roofline

    (row,) = roofline([{"widths": [5, 8, 1], "batch": 32}])[1:]
    assert row["native_gflops_per_s"] > 0 and row["torch_gflops_per_s"] > 0
    assert row["gflops_per_s"] == max(row["native_gflops_per_s"], row["torch_gflops_per_s"])


def test_the_native_step_gathers_its_batch_as_index_select_does():
    torch.manual_seed(0)
    data = training_rows(torch.randn(300, 5), torch.randn(300))
    index = torch.randperm(300, dtype=torch.int32)[:64]
    model = build_mlp(5, (16, 8), "silu")
    fast, ours = (
        cls(layer_widths(model), Recipe(activation="silu"), 300, 64, 0, False, "cpu")
        for cls in (FastEngine, NativeEngine)
    )
    batches = [Batch.of(torch.full((64, 7), float("nan"))) for _ in range(2)]
    for eng, batch in zip((fast, ours), batches, strict=True):
        eng.load(model)
        eng.step(batch, 1e-2, data, index)
    assert torch.equal(batches[1].rows, data[index.long()])  # every row, in the index's order
    torch.testing.assert_close(ours.flat, fast.flat, rtol=1e-5, atol=1e-7)


def test_the_native_products_keep_their_operands_alive():
    from interp5d.profiling import malloc_thresholds
    from interp5d.roofline import native_step_matmuls

    # buffers from the heap, so that a freed one is handed to the next of its size: had the
    # products lost their input, they would multiply these NaNs
    with malloc_thresholds(64 << 20, 64 << 20):
        products = native_step_matmuls([5, 64, 32, 1], 8192)
        gc.collect()
        junk = [torch.full((8192, 6), math.nan) for _ in range(8)]
        products()
    assert torch.isfinite(products.engine.flat_grad).all() and len(junk) == 8
