"""The methods the study compares, by name. Each is a class with scikit-learn's estimator
conventions (methods/base.py); adding one means its class, an entry here and its entry in
the config schema. Classes are imported on first use, so reading the names is cheap."""

from __future__ import annotations

from importlib import import_module
from typing import Any

REGISTRY: dict[str, str] = {
    "mlp": "interp5d.interpolator:MLPInterpolator",  # the MLP; the config's recipes
    "auto": "interp5d.auto:Interpolator",  # the default: a GP or the MLP, by validation
    "ols": "interp5d.methods.least_squares:LeastSquares",
    "sklearn_mlp": "interp5d.methods.sklearn_mlp:SklearnMLP",
    "rbf": "interp5d.methods.rbf:ThinPlateRBF",
    "gp": "interp5d.methods.gp:GaussianProcess",
    "krg": "interp5d.methods.krg:Kriging",  # SMT's KRG
}
BASELINES = tuple(name for name in REGISTRY if name != "mlp")


def method_module(name: str) -> str:
    """The module that holds a method's class."""
    try:
        return REGISTRY[name].split(":")[0]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(REGISTRY)}") from None


def method_class(name: str) -> type:
    return getattr(import_module(method_module(name)), REGISTRY[name].split(":")[1])


def build_method(spec: dict[str, Any], seed: int | None = None, **extra: Any):
    """A method from its workflow spec: {"class": registry name, "settings": ...}. A
    recipe's settings are the MLP's recipe (a dict, or a shipped recipe's name); a
    baseline's are its constructor's arguments. `seed` and `extra` go to the constructor
    where it takes them."""
    cls = method_class(spec["class"])
    settings = spec.get("settings") or {}
    kwargs = {"recipe": settings} if spec["class"] == "mlp" else dict(settings)
    params = cls().get_params()
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(
            f"{spec['class']}: unknown setting(s) {unknown}; allowed: {sorted(params)}"
        )
    if seed is not None and "seed" in params:
        kwargs["seed"] = seed
    kwargs.update({k: v for k, v in extra.items() if k in params})
    return cls(**kwargs)
