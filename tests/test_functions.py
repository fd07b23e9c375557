import numpy as np
import pytest
from interp5d.functions import FUNCTIONS, get_function


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_sample_shapes_domain_and_reproducibility(name):
    fn = get_function(name)
    X, y, f = fn.sample(200, seed=7)
    assert X.shape == (200, 5) and y.shape == (200,) and f.shape == (200,)
    assert X.min() >= fn.low and X.max() <= fn.high
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
