import numpy as np
import pytest
import torch
from interp5d import DataError, MLPInterpolator, NotFittedError, get_function
from interp5d.model import build_mlp
from interp5d.recipes import RECIPES, Recipe, get_recipe
from interp5d.training.loop import LRSchedule

SMALL = {"epochs": 30, "batch_size": 64, "lr": 0.01, "val_every": 5}


@pytest.fixture(scope="module")
def data():
    X, y, f = get_function("synthetic5d").sample(600, seed=3)
    return X[:400], y[:400], X[400:500], y[400:500], X[500:], y[500:]


@pytest.fixture(scope="module")
def fitted(data):
    Xtr, ytr, Xva, yva, _, _ = data
    return MLPInterpolator(SMALL, seed=1).fit(Xtr, ytr, Xva, yva)


def test_constructor_stores_settings_only():
    est = MLPInterpolator("seed", seed=5, threads=2)
    assert est.get_params(deep=False)["recipe"] == "seed" and est.seed == 5
    assert not hasattr(est, "model_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros(5))


def test_fit_predict_shapes_and_learning(fitted, data):
    *_, Xte, yte = data
    pred = fitted.predict(Xte)
    assert pred.shape == (100,) and pred.dtype == np.float64
    one = fitted.predict(Xte[0])
    assert isinstance(one, float) and one == pytest.approx(pred[0], rel=1e-6)
    assert fitted.score(Xte, yte) > 0.5
    h = fitted.history_
    assert len(h["epoch"]) == 30 and len(h["train_loss"]) == 30
    assert h["train_loss"][-1] < h["train_loss"][0]
    val = [v for v in h["val_loss"] if not np.isnan(v)]
    assert len(val) == 6  # every 5 epochs
    assert fitted.status_ == "ok"


@pytest.mark.parametrize(
    "bad", [np.zeros(4), np.zeros((3, 4)), np.zeros((2, 5, 1)), np.array([["a"] * 5])]
)
def test_predict_rejects_bad_shapes(fitted, bad):
    with pytest.raises(DataError, match="query points"):
        fitted.predict(bad)


def test_predict_rejects_nonfinite(fitted):
    X = np.zeros((3, 5))
    X[1, 2] = np.nan
    with pytest.raises(DataError, match=r"1 row\(s\) hold NaN/inf, e.g. rows \[1\]"):
        fitted.predict(X)


def test_predict_in_chunks_matches(fitted, data):
    *_, Xte, _ = data
    fitted_chunk = fitted.predict_chunk
    try:
        fitted.predict_chunk = 7
        small = fitted.predict(Xte)
    finally:
        fitted.predict_chunk = fitted_chunk
    assert np.allclose(small, fitted.predict(Xte))


def test_save_load_round_trip(tmp_path, fitted, data):
    *_, Xte, _ = data
    p = tmp_path / "m.pt"
    fitted.save(p)
    loaded = MLPInterpolator.load(p)
    assert np.array_equal(loaded.predict(Xte), fitted.predict(Xte))
    assert loaded.recipe_ == fitted.recipe_
    blob = torch.load(p, weights_only=True)
    assert set(blob) == {"arrays", "metadata"}
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(DataError, match="junk.pt: not an interp5d model file"):
        MLPInterpolator.load(tmp_path / "junk.pt")
    # a file of the format before this one is refused, saying how to get a new one
    torch.save({"state_dict": {}, "metadata": '{"format_version": 1}'}, tmp_path / "old.pt")
    with pytest.raises(DataError, match="old.pt: model format 1 is not 2; refit the model"):
        MLPInterpolator.load(tmp_path / "old.pt")


def test_out_of_range_flag(fitted):
    inside = (fitted.x_min_ + fitted.x_max_) / 2
    outside = fitted.x_max_ + 1
    assert fitted.out_of_range(np.stack([inside, outside])).tolist() == [False, True]


def test_same_seed_bit_identical_other_seed_differs(data):
    Xtr, ytr, Xva, yva, Xte, _ = data
    a = MLPInterpolator(SMALL, seed=4).fit(Xtr, ytr, Xva, yva)
    b = MLPInterpolator(SMALL, seed=4).fit(Xtr, ytr, Xva, yva)
    c = MLPInterpolator(SMALL, seed=5).fit(Xtr, ytr, Xva, yva)
    for (k, ta), tb in zip(
        a.model_.state_dict().items(), b.model_.state_dict().values(), strict=True
    ):
        assert torch.equal(ta, tb), k
    assert np.array_equal(a.predict(Xte), b.predict(Xte))
    assert a.history_ == b.history_
    assert not np.array_equal(a.predict(Xte), c.predict(Xte))


def test_divergence_is_recorded_not_raised(data):
    Xtr, ytr, Xva, yva, Xte, _ = data
    est = MLPInterpolator({"lr": 1e12, "epochs": 50, "batch_size": 32}, seed=0)
    est.fit(Xtr, ytr, Xva, yva)
    assert est.status_ == "diverged"
    assert (
        est.result_.diverged_epoch is not None
        and est.result_.epochs_run == est.result_.diverged_epoch
    )
    assert not np.isfinite(est.history_["train_loss"][-1])


def test_early_stopping_restores_best_weights(data):
    Xtr, ytr, Xva, yva, _, _ = data
    recipe = {"epochs": 400, "batch_size": 16, "lr": 0.05, "patience": 10, "val_every": 1}
    est = MLPInterpolator(recipe, seed=0).fit(Xtr, ytr, Xva, yva)
    res = est.result_
    assert res.status == "early_stopped"
    assert res.epochs_run == res.best_epoch + 10
    Xv = torch.as_tensor(est.x_scaler_.transform(Xva), dtype=torch.float32)
    yv = torch.as_tensor(est.y_scaler_.transform(yva), dtype=torch.float32).reshape(-1, 1)
    with torch.inference_mode():
        restored = torch.nn.functional.mse_loss(est.model_(Xv), yv).item()
    assert restored == pytest.approx(
        min(v for v in est.history_["val_loss"] if np.isfinite(v)), rel=1e-5
    )


def test_configurable_architecture(data):
    Xtr, ytr, *_ = data
    est = MLPInterpolator({"hidden": [8, 8, 4], "activation": "tanh", "epochs": 2}, seed=0).fit(
        Xtr, ytr
    )
    linears = [m for m in est.model_ if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [8, 8, 4, 1]
    assert isinstance(est.model_[1], torch.nn.Tanh)


def test_init_scale_steepens_the_first_layer_only(data):
    torch.manual_seed(3)
    plain = build_mlp(5, (16, 8), "silu")
    torch.manual_seed(3)
    steep = build_mlp(5, (16, 8), "silu", init_scale=3.0)
    for (name, a), b in zip(plain.state_dict().items(), steep.state_dict().values(), strict=True):
        factor = 3.0 if name.startswith("0.") else 1.0  # layer 0: weight and bias
        torch.testing.assert_close(b, a * factor, msg=name)
    # the recipe's key reaches the network that is trained: the same seed, the same start
    est = MLPInterpolator({"hidden": [16, 8], "init_scale": 3.0, "epochs": 1, "lr": 1e-9}, seed=3)
    torch.testing.assert_close(est.fit(*data[:2]).model_[0].weight, steep[0].weight)
    with pytest.raises(ValueError, match="init_scale: must be > 0, got 0"):
        Recipe(init_scale=0)


def test_recipes_validate_and_seed_recipe_is_the_seed_study():
    seed = RECIPES["seed"]
    assert seed.hidden == (64, 32) and seed.activation == "relu" and seed.lr == 1e-3
    assert seed.epochs == 100 and seed.batch_size is None and seed.schedule == "constant"
    assert RECIPES["tuned"].hidden == (64, 32)
    with pytest.raises(ValueError, match=r"unknown recipe key\(s\) \['epoch'\]"):
        get_recipe({"epoch": 3})
    with pytest.raises(ValueError, match="lr: must be > 0"):
        Recipe(lr=0)
    with pytest.raises(ValueError, match="unknown recipe 'fast'"):
        get_recipe("fast")


def test_lr_schedule_warmup_and_cosine():
    r = Recipe(lr=0.1, epochs=10, schedule="cosine", warmup_epochs=2, min_lr=0.001)
    lr_at = LRSchedule(r, steps_per_epoch=3, total_steps=30)
    lrs = [lr_at(s) for s in range(30)]
    assert lrs[0] == pytest.approx(0.1 / 6) and lrs[5] == pytest.approx(0.1)
    assert lrs[6] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.001)
    assert all(a >= b for a, b in zip(lrs[6:], lrs[7:], strict=False))
    const = LRSchedule(Recipe(lr=0.2, epochs=3), 2, 6)
    assert {const(s) for s in range(6)} == {0.2}


def test_empty_validation_split_trains_without_validation(data):
    Xtr, ytr, *_ = data
    est = MLPInterpolator({"epochs": 3, "restore_best": True}).fit(Xtr, ytr, Xtr[:0], ytr[:0])
    assert est.status_ == "ok" and np.isnan(est.history_["val_loss"]).all()


def test_validation_arguments_must_pair(data):
    Xtr, ytr, Xva, _, _, _ = data
    with pytest.raises(ValueError, match="give both X_val and y_val"):
        MLPInterpolator({"epochs": 1}).fit(Xtr, ytr, Xva)


@pytest.mark.parametrize("activation", ["relu", "tanh", "silu", "gelu", "hardswish"])
@pytest.mark.parametrize("capacity", [40, 64])  # a batch that fills the workspace, or not
def test_hand_written_backward_matches_autograd(activation, capacity):
    from interp5d.activations import ACTIVATIONS
    from interp5d.model import layer_widths, n_block_parameters
    from interp5d.training.engines.fast import (
        Layers,
        Workspace,
        copy_weights,
        error,
        forward_backward,
        layer_blocks,
    )
    from interp5d.training.loop import training_rows

    torch.manual_seed(0)
    model = build_mlp(5, (16, 8), activation)
    x, y = torch.randn(40, 5), torch.randn(40, 1)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()

    widths = layer_widths(model)
    flat = torch.zeros(n_block_parameters(widths))
    grad = torch.full_like(flat, float("nan"))  # every entry must be written
    layers, grads = Layers.of(flat, widths), layer_blocks(grad, widths)
    copy_weights(model, layers.blocks, to_model=False)
    act = ACTIVATIONS[activation]
    views = Workspace(capacity, widths, act, backward=True, device="cpu").views(40)
    rows = training_rows(x, y)
    inputs_t = [rows[:, :-1].t(), *views.outputs_t]
    forward_backward(layers, grads, act, views, rows[:, :-1], inputs_t, rows[:, -1:])
    assert views.sq.sum().item() / 40 == pytest.approx(loss.item(), rel=1e-5)
    linear = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, g in zip(linear, grads, strict=True):
        torch.testing.assert_close(g[:-1].t(), layer.weight.grad, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(g[-1], layer.bias.grad, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        err = error(layers, act, views, rows[:, :-1], rows[:, -1:])
        torch.testing.assert_close(err + y, model(x))


@pytest.mark.parametrize("chunk_rows", [64, 100, 399])  # a short last chunk, even, one row
def test_a_batch_in_chunks_takes_the_one_pass_step(chunk_rows):
    # a full batch of 400 rows stepped in chunks against the same engine in one pass: the
    # same gradient (up to the order of the sums), squared errors and weights after steps
    from interp5d.model import layer_widths
    from interp5d.training.batch import Batch
    from interp5d.training.engines.fast import FastEngine
    from interp5d.training.loop import training_rows

    torch.manual_seed(0)
    model = build_mlp(5, (16, 8), "silu")
    batch = Batch.of(training_rows(torch.randn(400, 5), torch.randn(400)))
    widths, recipe = layer_widths(model), Recipe(activation="silu")
    one, chunked = (
        FastEngine(
            widths=widths,
            recipe=recipe,
            n_train=400,
            batch_rows=400,
            val_rows=0,
            keep_best=False,
            device="cpu",
            chunk_rows=c,
        )
        for c in (400, chunk_rows)
    )
    assert len(one.chunks(batch)) == 1 and len(chunked.chunks(batch)) == -(-400 // chunk_rows)
    assert chunked.work.out.shape[0] == chunk_rows  # the workspace holds one chunk
    for eng in (one, chunked):
        eng.load(model)
        eng.step(batch, 1e-2)
    torch.testing.assert_close(chunked.flat_grad, one.flat_grad, rtol=1e-5, atol=1e-7)
    assert chunked.take_train_sse() == pytest.approx(one.take_train_sse(), rel=1e-6)
    for _ in range(3):
        for eng in (one, chunked):
            eng.step(batch, 1e-2)
    torch.testing.assert_close(chunked.flat, one.flat, rtol=1e-5, atol=1e-6)


def test_chunks_are_for_the_cpu_cache():
    from interp5d.training.engines.fast import chunk_rows_for
    from interp5d.training.limits import CHUNK_ROWS

    assert chunk_rows_for("cpu", 512) == 512  # a batch that fits is one chunk
    assert chunk_rows_for("cpu", 700_000) == chunk_rows_for("meta", 700_000) == CHUNK_ROWS
    assert chunk_rows_for(torch.device("cuda", 0), 700_000) == 700_000  # no GPU needed


def test_fused_adam_matches_torch_adam():
    from interp5d.training.engines.fast import FusedAdam

    torch.manual_seed(0)
    p_ref = torch.randn(30, requires_grad=True)
    flat, grad = p_ref.detach().clone(), torch.zeros(30)
    recipe = Recipe(lr=0.01, weight_decay=0.1, beta2=0.99)
    ref = torch.optim.Adam([p_ref], lr=0.01, betas=(0.9, 0.99), weight_decay=0.1)
    ours = FusedAdam(flat, grad, recipe, n_train=10)
    for _ in range(5):
        g = torch.randn(30)
        p_ref.grad = g.clone()
        ref.step()
        grad.copy_(g)
        ours.step(0.01)
    torch.testing.assert_close(flat, p_ref.detach(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, g)  # the gradient is read, not changed


# with a moving average, a rate high enough that its best validation is not the last; and
# the whole split as one batch, which the fast engine steps in chunks of 64 rows here
@pytest.mark.parametrize(
    "average",
    [
        {},
        {"ema_decay": 0.5, "lr": 0.2, "min_lr": 0.18},
        {"batch_size": None, "lr": 0.5, "min_lr": 0.45},
    ],
)
def test_engines_end_with_the_same_weights(data, average, monkeypatch):
    # the fast engine (hand-written backward, buffers, fused Adam, its own moving average)
    # and the plain one (nn.Module, loss.backward(), torch.optim.Adam, AveragedModel) on
    # one recipe: a short last batch (400 rows in batches of 64), warm-up then cosine, both
    # kinds of weight decay, and the best validation epoch's weights restored (of the
    # average when there is one: it is what is validated)
    Xtr, ytr, Xva, yva, Xte, _ = data
    recipe = {
        "epochs": 12,
        "batch_size": 64,
        "lr": 0.05,
        "beta2": 0.99,
        "schedule": "cosine",
        "warmup_epochs": 2,
        "min_lr": 0.045,
        "weight_decay": 1e-3,
        "weight_decay_n": 0.3,
        "val_every": 1,
        "restore_best": True,
        **average,
    }
    monkeypatch.setattr("interp5d.training.engines.fast.CHUNK_ROWS", 64)
    fast, plain = (
        MLPInterpolator({**recipe, "engine": e}, seed=5).fit(Xtr, ytr, Xva, yva)
        for e in ("fast", "autograd")
    )
    assert fast.result_.best_epoch == plain.result_.best_epoch < fast.result_.epochs_run == 12
    # they differ by float32 rounding alone, which training amplifies: the plain engine
    # again with each input moved by one float32 ulp sets the floor (the moving average's
    # lr of 0.2 lifts it to ~1e-4: on AVX-512 the engines then differed by 9e-5)
    signs = np.random.default_rng(0).choice([-1.0, 1.0], Xtr.shape)
    nudged = MLPInterpolator({**recipe, "engine": "autograd"}, seed=5)
    nudged.fit(Xtr * (1 + 2.0**-23 * signs), ytr, Xva, yva)
    for (name, a), b, c in zip(
        fast.model_.state_dict().items(),
        plain.model_.state_dict().values(),
        nudged.model_.state_dict().values(),
        strict=True,
    ):
        floor = float((b - c).abs().max())
        torch.testing.assert_close(a, b, rtol=1e-4, atol=max(1e-5, 2 * floor), msg=name)
    np.testing.assert_allclose(fast.history_["train_loss"], plain.history_["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(fast.predict(Xte), plain.predict(Xte), rtol=1e-4, atol=1e-5)
    if "ema_decay" in average:  # the average is what came back, not the iterate
        iterate = MLPInterpolator({**recipe, "ema_decay": 0.0}, seed=5).fit(Xtr, ytr, Xva, yva)
        assert np.abs(iterate.predict(Xte) - fast.predict(Xte)).max() > 1e-3


def test_scikit_learn_model_selection_tools(data):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    Xtr, ytr, *_ = data
    est = MLPInterpolator({"epochs": 5, "batch_size": 64}, seed=3)
    twin = clone(est)
    assert twin is not est and twin.get_params(deep=False) == est.get_params(deep=False)
    assert not hasattr(twin, "model_")
    # recipe settings one by one, as nested parameters
    assert est.get_params()["recipe__batch_size"] == 64
    twin.set_params(recipe__lr=0.02, seed=4)
    assert twin.recipe["lr"] == 0.02 and twin.recipe["batch_size"] == 64 and twin.seed == 4
    scores = cross_val_score(est, Xtr, ytr, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.isfinite(scores).all()
    grid = GridSearchCV(est, {"recipe__lr": [1e-3, 1e-2]}, cv=2).fit(Xtr, ytr)
    assert grid.best_params_["recipe__lr"] in (1e-3, 1e-2)
    assert grid.best_estimator_.recipe_.lr == grid.best_params_["recipe__lr"]
    pipe = make_pipeline(MinMaxScaler(), clone(est)).fit(Xtr, ytr)
    assert pipe.predict(Xtr[:4]).shape == (4,) and np.isfinite(pipe.score(Xtr, ytr))
