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
from interp5d import MLPInterpolator
from interp5d.model import build_mlp, layer_widths
from interp5d.recipes import Recipe
from interp5d.training.batch import Batch
from interp5d.training.engines import native_lib as native
from interp5d.training.engines.base import Engine
from interp5d.training.engines.fast import FastEngine
from interp5d.training.engines.native import NativeEngine
from interp5d.training.loop import training_rows

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


def engine(
    cls: type[FastEngine],
    widths: list[int],
    recipe: Recipe,
    n_train: int,
    batch_rows: int,
    val_rows: int = 0,
    chunk_rows: int | None = None,
) -> FastEngine:
    """A fast or native engine on the CPU that keeps no best weights."""
    return cls(
        widths=widths,
        recipe=recipe,
        n_train=n_train,
        batch_rows=batch_rows,
        val_rows=val_rows,
        keep_best=False,
        device="cpu",
        chunk_rows=chunk_rows,
    )


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
        engine(cls, widths, recipe, 400, 400, val_rows=1000, chunk_rows=chunk_rows)
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

    monkeypatch.setattr("interp5d.training.engines.fast.CHUNK_ROWS", 64)
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
            MLPInterpolator({**recipe, "engine": e}, seed=5).fit(X[:400], y[:400], X[400:], y[400:])
            for e in ("fast", "native")
        )
        assert ours.result_.engine == "native" and fast.result_.engine == "fast"
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
    monkeypatch.setattr(native, "_cpu_signature", lambda compiler: "-march=another-cpu")
    native._load_once.cache_clear()
    native.load()
    assert len(list(fresh_build.glob("native_step-*.so"))) == 2
    # each with its build's digest, and nothing half-built left
    assert len(list(fresh_build.glob("native_step-*.sha256"))) == 2
    assert len(list(fresh_build.iterdir())) == 4


def test_falls_back_to_the_fast_engine_saying_why(fresh_build, monkeypatch, caplog):
    X, y = np.random.default_rng(0).uniform(size=(120, 5)), np.zeros(120)
    recipe = {"epochs": 2, "batch_size": 32, "engine": "native"}
    caplog.set_level(logging.WARNING, logger="interp5d")
    est = MLPInterpolator({**recipe, "activation": "gelu"}).fit(X, y)
    assert est.result_.engine == "fast"
    assert "native engine cannot train here (it has no 'gelu' activation" in caplog.text
    monkeypatch.setenv("CC", "no-such-compiler")
    caplog.clear()
    est = MLPInterpolator(recipe).fit(X, y)
    assert est.result_.engine == "fast"
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
    from interp5d.bench.roofline import roofline

    (row,) = roofline([{"widths": [5, 8, 1], "batch": 32}])[1:]
    assert row["native_gflops_per_s"] > 0 and row["torch_gflops_per_s"] > 0
    assert row["gflops_per_s"] == max(row["native_gflops_per_s"], row["torch_gflops_per_s"])


def test_the_native_step_gathers_its_batch_as_index_select_does():
    torch.manual_seed(0)
    data = training_rows(torch.randn(300, 5), torch.randn(300))
    index = torch.randperm(300, dtype=torch.int32)[:64]
    model = build_mlp(5, (16, 8), "silu")
    fast, ours = (
        engine(cls, layer_widths(model), Recipe(activation="silu"), 300, 64)
        for cls in (FastEngine, NativeEngine)
    )
    batches = [Batch.of(torch.full((64, 7), float("nan"))) for _ in range(2)]
    for eng, batch in zip((fast, ours), batches, strict=True):
        eng.load(model)
        eng.step(batch, 1e-2, data, index)
    assert torch.equal(batches[1].rows, data[index.long()])  # every row, in the index's order
    torch.testing.assert_close(ours.flat, fast.flat, rtol=1e-5, atol=1e-7)


def test_the_native_products_keep_their_operands_alive():
    from interp5d.bench.profiling import malloc_thresholds
    from interp5d.bench.roofline import native_step_matmuls

    # buffers from the heap, so that a freed one is handed to the next of its size: had the
    # products lost their input, they would multiply these NaNs
    with malloc_thresholds(64 << 20, 64 << 20):
        products = native_step_matmuls([5, 64, 32, 1], 8192)
        gc.collect()
        junk = [torch.full((8192, 6), math.nan) for _ in range(8)]
        products()
    assert torch.isfinite(products.engine.flat_grad).all() and len(junk) == 8


def test_the_native_sigmoid_is_as_accurate_as_its_comment_says():
    """SiLU's sigmoid is a polynomial in C, not expf: within 2e-7 of float64's, and in
    relative terms within 6e-7 for |z| <= 10 and 3.9e-6 down to z = -86.6 (at most 2.6e-38
    further down); a NaN stays NaN through SiLU."""
    lib, _ = native.load()
    extremes = [-1e30, -200.0, -87.0, -86.0, 86.0, 87.0, 200.0, 1e30, math.inf, -math.inf]
    z = torch.cat([torch.linspace(-90, 90, 360_001), torch.tensor(extremes)])
    silu, s = z.clone(), torch.empty_like(z)
    lib.interp5d_silu(native.pointer(silu), native.pointer(s), len(z))
    exact = torch.sigmoid(z.double())
    assert (s.double() - exact).abs().max() < 2e-7
    normal = z >= -86.6  # 2^-t is clamped to 2^-125 further down
    rel = (s.double() - exact).abs() / exact
    assert rel[z.abs() <= 10].max() < 6e-7 and rel[normal].max() < 3.9e-6
    assert (s[~normal] >= 0).all() and (s[~normal] <= 2.6e-38).all()
    assert torch.equal(silu, z * s)  # SiLU is z times the sigmoid it keeps
    z = torch.tensor([math.nan, 1.0] * 9)  # the vector loop and its scalar remainder
    silu, s = z.clone(), torch.empty_like(z)
    lib.interp5d_silu(native.pointer(silu), native.pointer(s), len(z))
    assert torch.equal(silu.isnan(), z.isnan())


@pytest.mark.parametrize("gathered", [True, False])
def test_a_run_of_native_steps_is_its_steps_one_call_each(gathered):
    """The native engine's `steps` (one C call for a run) against the plain path it replaces
    (Engine.steps: a `step` call each), bit for bit, with a shorter last batch."""
    torch.manual_seed(0)
    model = build_mlp(5, (16, 8), "silu")
    data = training_rows(torch.randn(300, 5), torch.randn(300))
    recipe = Recipe(activation="silu", ema_decay=0.9)
    engines = [engine(NativeEngine, layer_widths(model), recipe, 300, 64) for _ in "ab"]
    order = torch.randperm(300, dtype=torch.int32)
    for eng in engines:
        eng.load(model)
        if gathered:  # the loop's: batches gathered into one buffer, views of it per size
            buffer = torch.empty((64, 7))
            batches = {b: Batch.of(buffer[:b]) for b in (64, 300 - 4 * 64)}
            sizes = [min(64, 300 - i) for i in range(0, 300, 64)]
            run = [(batches[b], order[i * 64 : i * 64 + b], b) for i, b in enumerate(sizes)]
        else:  # the full-batch loop's: the data itself, ungathered
            run = [(Batch.of(data), None, 300)] * 3
        lrs = [0.05 / (k + 1) for k in range(len(run))]
        if eng is engines[0]:
            eng.steps(run, lrs, data)
        else:
            Engine.steps(eng, run, lrs, data)
    ours, plain = engines
    for a, b in [(ours.flat, plain.flat), (ours.opt.m, plain.opt.m), (ours.avg, plain.avg)]:
        assert torch.equal(a, b)
    assert ours.net.t == plain.net.t == len(run)
    assert ours.take_train_sse() == plain.take_train_sse()
    untrained = engine(NativeEngine, layer_widths(model), recipe, 300, 64)
    untrained.load(model)
    assert not torch.equal(ours.flat, untrained.flat)  # they trained


def _gp_point(nu: float):
    """A GP fitted on 60 rows of a noisy function (α stays moderate) and its one-point path
    inside an outer standardisation that is not the identity."""
    from interp5d.data import Standardizer
    from interp5d.fastpath import GPPoint, point_path
    from interp5d.methods.gp import GaussianProcess

    rng = np.random.default_rng(3)
    X = rng.uniform(-2.0, 3.0, (60, 5))
    y = np.sin(X @ [1.0, 0.5, -0.7, 0.2, 0.0]) + 0.05 * rng.normal(size=60)
    outer = (Standardizer().fit(X), Standardizer().fit(y))
    gp = GaussianProcess(nu=nu, select_rows=60).fit(outer[0].transform(X), outer[1].transform(y))
    path = point_path(gp, outer)
    assert isinstance(path, GPPoint)
    return path, X


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_the_compiled_gp_point_is_its_numpy_form(nu):
    path, X = _gp_point(nu)
    assert path.compiled is not None
    rng = np.random.default_rng(4)
    points = [
        *rng.uniform(-2.0, 3.0, (10, 5)),
        X[7].copy(),  # a training row: every difference 0, where the ratio is 0
        np.r_[X[8, :2], rng.uniform(-2.0, 3.0, 3)],  # two inputs of a row
        np.full(5, 1e6),  # far from every row: each correlation underflows to 0
    ]
    for i, x in enumerate(points):
        r = path._rows(x, False)[0]
        magnitude = float(np.abs(path.alpha * r).sum()) + abs(path.c0)
        assert path.value(x) == pytest.approx(path.value_numpy(x), abs=1e-12 * magnitude)
        g, g_numpy = path.grad(x), path.grad_numpy(x)
        assert g.shape == (5,) and np.isfinite(g).all()
        if nu == 0.5 and i in (10, 11):
            # exp(-|d|) has a kink at a row's coordinate: no gradient there, and which
            # side each path's rounding of d lands on (C fuses x·a + b) is chance
            continue
        np.testing.assert_allclose(g, g_numpy, rtol=1e-10, atol=1e-12 * magnitude)
    assert path.value(np.full(5, 1e6)) == path.c0
    # the batch call: the same loop, point by point
    batch = np.array(points)
    np.testing.assert_array_equal(path.batch(batch), [path.value(x) for x in points])
    assert path.batch(np.empty((0, 5))).shape == (0,)


def test_the_gp_point_is_the_same_from_several_threads_at_once():
    # ctypes lets go of the GIL for the call: nothing may be shared between two calls
    from concurrent.futures import ThreadPoolExecutor

    path, _ = _gp_point(2.5)
    points = np.random.default_rng(5).uniform(-2.0, 3.0, (400, 5))
    alone = [(path.value(x), path.grad(x)) for x in points]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda x: (path.value(x), path.grad(x)), points))
    for (v, g), (v2, g2) in zip(alone, together, strict=True):
        assert v == v2
        np.testing.assert_array_equal(g, g2)


def test_a_copied_gp_point_calls_with_its_own_arrays():
    import copy
    import pickle

    path, X = _gp_point(2.5)
    expected = path.value(X[0])
    for other in (copy.deepcopy(path), pickle.loads(pickle.dumps(path))):
        assert other._args[0] == other.Z.ctypes.data != path._args[0]
        assert other.value(X[0]) == expected


def test_the_gp_point_falls_back_to_numpy_without_the_library(fresh_build, monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler")
    path, X = _gp_point(2.5)
    assert path.compiled is None
    assert path.value(X[0]) == path.value_numpy(X[0])
    np.testing.assert_array_equal(path.grad(X[0]), path.grad_numpy(X[0]))


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_the_compiled_gp_correlation_is_its_numpy_form(nu):
    from interp5d.methods import gp_kernels as k

    lib = k.compiled()
    assert lib is not None
    rng = np.random.default_rng(8)
    A, B = rng.uniform(-2.0, 3.0, (37, 5)), rng.uniform(-2.0, 3.0, (130, 5))
    A[3] = B[5]  # a pair at distance 0, and one far from all (each correlation underflows)
    A[4] = 1e6
    length = np.exp(rng.uniform(-1.0, 1.5, 5))
    c = np.sqrt(2.0 * nu)
    numpy_R = k._product_matern(nu, c, length, A, B, False, None, None)[0]
    np.testing.assert_allclose(k.compiled_correlation(lib, nu, length, A, B), numpy_R, rtol=1e-13)
    assert k.correlation("product_matern", nu, length, A, B)[0].tolist() == (
        k.compiled_correlation(lib, nu, length, A, B).tolist()
    )
    # upper (A is B): the entries on and above the diagonal, the rest left as it was
    R = np.full((130, 130), 7.0)
    k.compiled_correlation(lib, nu, length, B, B, upper=True, R=R)
    full = k._product_matern(nu, c, length, B, B, False, None, None)[0]
    upper = np.triu(np.ones((130, 130), dtype=bool))
    np.testing.assert_allclose(R[upper], full[upper], rtol=1e-13)
    assert (R[~upper] == 7.0).all() and (np.diag(R) == 1.0).all()


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_the_compiled_likelihood_is_its_numpy_form(nu):
    from interp5d.methods.gp_kernels import FAILED, Likelihood

    rng = np.random.default_rng(9)
    X = rng.uniform(-2.0, 3.0, (150, 5))
    y = np.sin(X @ [1.0, 0.5, -0.7, 0.2, 0.1]) + 0.01 * rng.normal(size=150)
    fast, plain = (Likelihood("product_matern", nu, X, y, native=b) for b in (True, False))
    assert fast.lib is not None and plain.lib is None
    for theta in (np.r_[np.zeros(5), -4.0], np.r_[rng.uniform(-1, 2, 5), -9.0]):
        value, grad = fast(theta)
        value_plain, grad_plain = plain(theta)
        assert value == pytest.approx(value_plain, rel=1e-12)
        np.testing.assert_allclose(grad, grad_plain, rtol=1e-9, atol=1e-9 * np.abs(grad).max())
    if nu == 2.5:  # long length scales, no noise: singular in float64, both are the wall
        wall = np.r_[np.full(5, 7.0), -40.0]
        assert fast(wall)[0] == plain(wall)[0] == FAILED


def subnormals_survive() -> bool:
    """Whether this thread computes with subnormal numbers (no flush-to-zero)."""
    tiny = np.float64(1e-310)
    return bool(tiny * np.float64(1.0) != 0.0 and np.float32(1e-40) * np.float32(1) != 0)


def test_the_flushed_span_sets_its_mode_and_always_restores_it():
    from interp5d.methods.gp_kernels import compiled, flushed

    lib = compiled()
    before = lib.interp5d_fp_mode()
    assert subnormals_survive()
    with flushed(lib):
        assert lib.interp5d_fp_mode() == before | lib.interp5d_fp_flush_bits()
        if lib.interp5d_fp_flush_bits():  # SSE: subnormals are made and read as 0
            assert not subnormals_survive()
    assert lib.interp5d_fp_mode() == before and subnormals_survive()
    with pytest.raises(KeyError), flushed(lib):
        raise KeyError("an error inside")
    assert lib.interp5d_fp_mode() == before and subnormals_survive()
    with flushed(None):  # without the library: nothing is touched
        assert subnormals_survive()


def test_a_likelihood_where_its_factor_holds_subnormals_is_the_numpy_forms():
    # at the box's corner the correlation's factor holds subnormals (on AVX-512, flushed
    # makes that evaluation ~25x faster): the value and gradient are still the numpy
    # form's, and afterwards the caller computes with subnormals as before
    from interp5d.methods.gp_kernels import Likelihood, compiled, compiled_correlation

    rng = np.random.default_rng(4)
    X = rng.uniform(-1.7, 1.7, (600, 5))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    corner = np.r_[np.full(3, np.log(1e3)), np.full(2, np.log(1e-2)), np.log(2.2e-14)]
    R = compiled_correlation(compiled(), 2.5, np.exp(corner[:5]), X, X)
    L = np.linalg.cholesky(R + 2.2e-14 * np.eye(600))
    assert np.any((L != 0) & (np.abs(L) < np.finfo(np.float64).tiny))  # what is flushed
    fast, plain = (Likelihood("product_matern", 2.5, X, y, native=b) for b in (True, False))
    value, grad = fast(corner)
    assert subnormals_survive()
    value_plain, grad_plain = plain(corner)
    assert value == pytest.approx(value_plain, rel=1e-12)
    np.testing.assert_allclose(grad, grad_plain, rtol=1e-9, atol=1e-9 * np.abs(grad).max())


def test_the_gp_solve_built_in_c_is_the_solve_built_in_numpy(monkeypatch):
    # the final solve's matrix, built in place by gp_corr.c or by numpy blocks
    from interp5d.methods import gp as gp_module
    from interp5d.methods import gp_kernels

    assert gp_kernels.compiled() is not None
    rng = np.random.default_rng(12)  # a noisy target: a well-conditioned matrix
    X = rng.uniform(-2.0, 3.0, (300, 5))
    y = np.sin(X @ [1.0, 0.5, -0.7, 0.2, 0.0]) + 0.05 * rng.normal(size=300)
    gp = gp_module.GaussianProcess(select_rows=100, seed=3).fit(X, y)
    Xs, ys = gp.X_train_.copy(), gp.y_train_.copy()
    alpha, L = gp.alpha_.copy(), gp.solve_.L.copy()
    monkeypatch.setattr(gp_kernels, "compiled", lambda: None)
    gp._solve(Xs, ys)
    # ~1 ulp in the kernel, through the factorisation: ~1e-14 absolute on entries of O(1)
    np.testing.assert_allclose(np.tril(gp.solve_.L), np.tril(L), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gp.alpha_, alpha, rtol=1e-9, atol=1e-9 * np.abs(alpha).max())


def test_the_compiled_correlation_is_the_same_from_several_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    from interp5d.methods import gp_kernels as k

    lib = k.compiled()
    rng = np.random.default_rng(10)
    blocks = [rng.uniform(-2.0, 3.0, (50, 5)) for _ in range(8)]
    B, length = rng.uniform(-2.0, 3.0, (300, 5)), np.ones(5)
    alone = [k.compiled_correlation(lib, 2.5, length, A, B) for A in blocks]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda A: k.compiled_correlation(lib, 2.5, length, A, B), blocks))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_likelihood_falls_back_to_numpy_without_the_library(fresh_build, monkeypatch):
    from interp5d.methods.gp_kernels import Likelihood, correlation

    monkeypatch.setenv("CC", "no-such-compiler")
    rng = np.random.default_rng(11)
    X, y = rng.uniform(-2.0, 3.0, (40, 5)), rng.normal(size=40)
    f = Likelihood("product_matern", 2.5, X, y)
    assert f.lib is None
    theta = np.r_[np.zeros(5), -4.0]
    value, grad = f(theta)
    plain = Likelihood("product_matern", 2.5, X, y, native=False)(theta)
    assert value == plain[0] and grad.tolist() == plain[1].tolist()
    assert correlation("product_matern", 2.5, np.ones(5), X, X)[0].shape == (40, 40)


def _mlp_point(activation: str, members: int, hidden: list[int]):
    """A small MLP fitted for a few epochs and its one-point path."""
    from interp5d.data import Standardizer
    from interp5d.fastpath import MLPPoint, point_path

    rng = np.random.default_rng(6)
    X = rng.uniform(-2.0, 3.0, (120, 5))
    y = np.sin(X @ [1.0, 0.5, -0.7, 0.2, 0.1])
    recipe = {"epochs": 3, "batch_size": 32, "activation": activation, "hidden": hidden}
    outer = (Standardizer().fit(X), Standardizer().fit(y))
    est = MLPInterpolator({**recipe, "members": members}, seed=2)
    est.fit(outer[0].transform(X), outer[1].transform(y))
    path = point_path(est, outer)
    assert isinstance(path, MLPPoint)
    return path, X


@pytest.mark.parametrize(
    "activation, members, hidden",
    [("silu", 1, [64, 32]), ("tanh", 2, [16]), ("relu", 1, [8, 8, 8]), ("silu", 1, [3, 40, 7])],
)
def test_the_compiled_mlp_point_is_its_numpy_form(activation, members, hidden):
    path, X = _mlp_point(activation, members, hidden)
    assert path.compiled is not None
    for x in [*X[:10], np.full(5, 50.0), np.zeros(5)]:
        value = path.value_numpy(x)
        assert path.value(x) == pytest.approx(value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(path.grad(x), path.grad_numpy(x), rtol=1e-10, atol=1e-12)


def test_the_mlp_point_falls_back_to_numpy_and_copies_bind_their_own(fresh_build, monkeypatch):
    import copy
    import pickle

    path, X = _mlp_point("silu", 2, [16])
    for other in (copy.deepcopy(path), pickle.loads(pickle.dumps(path))):
        assert other._args[0][2] == other._arrays[0][0].ctypes.data != path._args[0][2]
        assert other.value(X[0]) == path.value(X[0])
    monkeypatch.setenv("CC", "no-such-compiler")
    native._load_once.cache_clear()
    plain = pickle.loads(pickle.dumps(path))  # bound again, where no library can be had
    assert plain.compiled is None
    assert plain.value(X[0]) == path.value_numpy(X[0])
    np.testing.assert_array_equal(plain.grad(X[0]), path.grad_numpy(X[0]))
