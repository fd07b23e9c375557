import numpy as np
import pytest
from interp5d.functions import BOREHOLE_FIXED, FUNCTIONS, PISTON_FIXED, get_function

NEW = ("rosenbrock", "tp_tanh", "tp_exp", "borehole", "piston")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_sample_shapes_domain_and_reproducibility(name):
    fn = get_function(name)
    X, y, f = fn.sample(200, seed=7)
    assert X.shape == (200, 5) and y.shape == (200,) and f.shape == (200,)
    assert (np.asarray(fn.low) <= X).all() and (np.asarray(fn.high) >= X).all()
    X2, y2, f2 = fn.sample(200, seed=7)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(f, f2)
    assert not np.array_equal(X, fn.sample(200, seed=8)[0])
    resid = y - f
    if fn.noise == 0:
        assert np.array_equal(y, f)
    else:
        assert resid.std() == pytest.approx(fn.noise, rel=0.25)


def test_synthetic5d_formula_at_known_points():
    f = get_function("synthetic5d").f
    x = np.array([[0.25, 0.0, 0.5, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    expected0 = 1.0 * 1.0 + 0.3 * 1.0 + 0.5 - 0.2 * 0.25 * 0.5
    expected1 = 0.0 + 0.3 * np.exp(-0.5 / 0.02) + 0.0
    assert f(x) == pytest.approx([expected0, expected1])


def test_friedman1_and_styblinski_tang_values():
    fr = get_function("friedman1").f(np.array([[1.0, 0.5, 0.5, 1.0, 1.0]]))
    assert fr[0] == pytest.approx(10 * np.sin(np.pi * 0.5) + 0 + 10 + 5)
    # global minimum of Styblinski-Tang at xi = -2.903534 is about -39.166 per dimension
    st = get_function("styblinski_tang").f(np.full((1, 5), -2.903534))
    assert st[0] == pytest.approx(-39.16599 * 5, rel=1e-5)
    assert get_function("friedman1").noise == 1.0
    assert get_function("styblinski_tang").noise == 0.0


def test_unknown_function_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown test function 'nope'.*synthetic5d"):
        get_function("nope")
    with pytest.raises(ValueError, match="positive"):
        get_function("synthetic5d").sample(0, seed=1)


@pytest.mark.parametrize("plan", ["uniform", "lhs", "sobol"])
def test_scalar_domains_draw_the_samples_they_always_drew(plan):
    # per-input bounds must not move the tuned-on functions' samples by one bit: `make
    # verify` compares results bit for bit (the formula before per-input bounds, by hand)
    from interp5d.functions import unit_points

    for name in ("synthetic5d", "friedman1", "styblinski_tang"):
        fn = get_function(name)
        X, y, f = fn.sample(123, seed=5, plan=plan)
        rng = np.random.default_rng(5)
        X_old = fn.low + (fn.high - fn.low) * unit_points(plan, 123, rng)
        assert np.array_equal(X, X_old) and np.array_equal(f, fn.f(X_old))
        if fn.noise > 0:
            assert np.array_equal(y, f + fn.noise * rng.standard_normal(123))


def test_new_functions_are_registered_with_sources():
    for name in NEW:
        fn = get_function(name)
        assert fn.description and np.all(np.asarray(fn.low) < np.asarray(fn.high))
    assert [get_function(n).noise for n in NEW] == [0.0, 0.0, 0.0, 0.0, 0.01]


def test_rosenbrock_tensor_products_at_known_points():
    one, zero = np.ones((1, 5)), np.zeros((1, 5))
    # Rosenbrock: global minimum 0 at (1, ..., 1); at 0 each of the 4 terms is (1 - 0)² = 1
    assert get_function("rosenbrock").f(one)[0] == 0.0
    assert get_function("rosenbrock").f(zero)[0] == pytest.approx(4.0)
    assert get_function("rosenbrock").f(np.full((1, 5), -1.0))[0] == pytest.approx(4 * 404.0)
    assert get_function("tp_tanh").f(zero)[0] == 0.0
    assert get_function("tp_tanh").f(one)[0] == pytest.approx(np.tanh(1.0) ** 5)
    assert get_function("tp_exp").f(zero)[0] == 1.0
    assert get_function("tp_exp").f(one)[0] == pytest.approx(np.exp(5.0))


@pytest.mark.parametrize(
    "name, problem",
    [
        ("rosenbrock", ("Rosenbrock", {})),
        ("tp_tanh", ("TensorProduct", {"func": "tanh"})),
        ("tp_exp", ("TensorProduct", {"func": "exp"})),
    ],
)
def test_smt_problems_agree_with_smt(name, problem):
    smt_problems = pytest.importorskip("smt.problems")
    cls, options = problem
    ref = getattr(smt_problems, cls)(ndim=5, **options)
    fn = get_function(name)
    assert np.array_equal(ref.xlimits[:, 0], np.full(5, fn.low))
    assert np.array_equal(ref.xlimits[:, 1], np.full(5, fn.high))
    X, _, f = fn.sample(50, seed=3)
    assert f == pytest.approx(ref(X)[:, 0], rel=1e-12)


def test_borehole_agrees_with_smt_water_flow():
    # SMT's WaterFlow is the 8-input borehole (rw, r, Tu, Hu, Tl, Hl, L, Kw)
    smt_problems = pytest.importorskip("smt.problems")
    ref = smt_problems.WaterFlow()
    fn = get_function("borehole")
    kept = [0, 3, 5, 6, 7]
    assert np.array_equal(ref.xlimits[kept, 0], fn.low)
    assert np.array_equal(ref.xlimits[kept, 1], fn.high)
    X, _, f = fn.sample(20, seed=3)
    full = np.empty((20, 8))
    full[:, kept] = X
    full[:, [1, 2, 4]] = [BOREHOLE_FIXED["r"], BOREHOLE_FIXED["Tu"], BOREHOLE_FIXED["Tl"]]
    assert f == pytest.approx(ref(full)[:, 0], rel=1e-10)


def test_borehole_and_piston_by_hand():
    # VLSE's formulas worked out step by step at one point each
    rw, hu, hl, length, kw = 0.1, 1050.0, 760.0, 1400.0, 11000.0
    r, tu, tl = 25050.0, 89335.0, 89.55
    lnr = np.log(r / rw)
    flow = 2 * np.pi * tu * (hu - hl) / (lnr * (1 + 2 * length * tu / (lnr * rw**2 * kw) + tu / tl))
    got = get_function("borehole").f(np.array([[rw, hu, hl, length, kw]]))[0]
    assert got == pytest.approx(flow, rel=1e-12) and 50 < got < 100  # m³/yr
    m, s, v0, k, p0, ta, t0 = 45.0, 0.0125, 0.006, 3000.0, 100000.0, 293.0, 350.0
    a = p0 * s + 19.62 * m - k * v0 / s
    v = s / (2 * k) * (np.sqrt(a**2 + 4 * k * p0 * v0 * ta / t0) - a)
    cycle = 2 * np.pi * np.sqrt(m / (k + s**2 * p0 * v0 * ta / (t0 * v**2)))
    got = get_function("piston").f(np.array([[m, s, v0, k, p0]]))[0]
    assert got == pytest.approx(cycle, rel=1e-12) and 0.1 < got < 1.2  # seconds
    assert (ta, t0) == (PISTON_FIXED["Ta"], PISTON_FIXED["T0"])
