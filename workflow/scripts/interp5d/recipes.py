"""Training recipes: validated settings, and the two named recipes the study ships."""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from interp5d.training.engines import REGISTRY as ENGINE_REGISTRY

SCHEDULES = ("constant", "cosine")
STEPS_REFERENCE_ROWS = 10_000  # min_steps is the step budget's floor at this many rows
ENGINES = tuple(ENGINE_REGISTRY)  # the registry's names (reading them imports no engine)
# the most layers of weights the native step takes (native_step.c's MAX_LAYERS, which
# training.engines.native_lib checks against the library it loads); kept here, free of
# torch, so that the config check can refuse a deeper native recipe before any job
NATIVE_MAX_LAYERS = 16


@dataclass(frozen=True)
class Recipe:
    """Everything that decides how the MLP is built and trained (seed aside)."""

    hidden: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    init_scale: float = 1.0  # the first layer's initial weights and bias times this
    lr: float = 1e-3
    beta2: float = 0.999  # Adam's second-moment decay (beta1 stays 0.9)
    weight_decay: float = 0.0
    weight_decay_n: float = 0.0  # plus this / n_train: an L2 prior that fades as data grows
    batch_size: int | None = None  # None: full batch, one step per epoch
    epochs: int = 100
    min_steps: int = 0  # run more epochs when `epochs` would give fewer Adam steps than...
    min_steps_exponent: float = 0.0  # ...min_steps x (n_train / 10,000) ** this
    schedule: str = "constant"  # or "cosine" (per step, after warm-up)
    warmup_epochs: int = 0
    warmup_steps: int | None = None  # the warm-up in steps instead, when set
    min_lr: float = 0.0
    patience: int | None = None  # stop after this many validations without improvement
    min_delta: float = 0.0
    val_every: int = 1  # validate every this many epochs...
    val_steps: int | None = None  # ...or, when set, every this many steps
    val_rows: int | None = None  # validate on at most this many validation rows; None: all
    restore_best: bool = False  # keep the best-validation weights even without patience
    # > 0: validate, keep and return an exponential moving average of the weights, updated
    # after every step with this decay (Polyak averaging), rather than the last iterate
    ema_decay: float = 0.0
    stop_at_target: bool = False  # stop once a quality monitor's targets are all reached
    # "fast": PyTorch ops into buffers made once; "native": the same step compiled (the
    # fast engine where it cannot be built); "autograd": the recipe through plain PyTorch
    engine: str = "fast"
    members: int = 1  # networks in the ensemble (seeds seed, seed + 1, ...): their spread

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))
        problems = []
        if not self.hidden or any(w < 1 for w in self.hidden):
            problems.append(f"hidden: need at least one width >= 1, got {list(self.hidden)}")
        if not self.init_scale > 0:
            problems.append(f"init_scale: must be > 0, got {self.init_scale}")
        if not self.lr > 0:
            problems.append(f"lr: must be > 0, got {self.lr}")
        if not 0 <= self.beta2 < 1:
            problems.append(f"beta2: must be in [0, 1), got {self.beta2}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if self.weight_decay_n < 0:
            problems.append(f"weight_decay_n: must be >= 0, got {self.weight_decay_n}")
        if self.min_steps < 0:
            problems.append(f"min_steps: must be >= 0, got {self.min_steps}")
        if self.batch_size is not None and self.batch_size < 1:
            problems.append(f"batch_size: must be >= 1 or null, got {self.batch_size}")
        if self.epochs < 1:
            problems.append(f"epochs: must be >= 1, got {self.epochs}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule: must be one of {SCHEDULES}, got {self.schedule!r}")
        if not 0 <= self.warmup_epochs < self.epochs:
            problems.append(f"warmup_epochs: must be in [0, epochs), got {self.warmup_epochs}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            problems.append(f"warmup_steps: must be >= 0 or null, got {self.warmup_steps}")
        if self.min_steps_exponent < 0:
            problems.append(f"min_steps_exponent: must be >= 0, got {self.min_steps_exponent}")

        if not 0 <= self.min_lr <= self.lr:
            problems.append(f"min_lr: must be in [0, lr], got {self.min_lr}")
        if self.patience is not None and self.patience < 1:
            problems.append(f"patience: must be >= 1 or null, got {self.patience}")
        if self.val_every < 1:
            problems.append(f"val_every: must be >= 1, got {self.val_every}")
        for key in ("val_steps", "val_rows"):
            value = getattr(self, key)
            if value is not None and value < 1:
                problems.append(f"{key}: must be >= 1 or null, got {value}")
        if not 0 <= self.ema_decay < 1:
            problems.append(f"ema_decay: must be in [0, 1), got {self.ema_decay}")
        if self.members < 1:
            problems.append(f"members: must be >= 1, got {self.members}")
        if self.engine not in ENGINES:
            problems.append(f"engine: must be one of {ENGINES}, got {self.engine!r}")
        if self.engine == "native" and len(self.hidden) + 1 > NATIVE_MAX_LAYERS:
            problems.append(
                f"engine: native takes up to {NATIVE_MAX_LAYERS} layers ({NATIVE_MAX_LAYERS - 1} "
                f"hidden widths), hidden has {len(self.hidden)}; use engine 'fast'"
            )
        if problems:
            raise ValueError("invalid recipe: " + "; ".join(problems))

    def min_steps_for(self, n_train: int) -> int:
        """The step budget's floor for n training rows: it grows as n ** min_steps_exponent."""
        return math.ceil(
            self.min_steps * (n_train / STEPS_REFERENCE_ROWS) ** self.min_steps_exponent
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown recipe key(s) {unknown}; allowed: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


RECIPES: dict[str, Recipe] = {
    # The seed study's protocol: full batch, so 100 epochs are 100 Adam steps.
    "seed": Recipe(),
    # Same network, trained well and to a target: SiLU units, the first layer's three times
    # steeper at the start than PyTorch's initialisation makes them (each target is reached
    # sooner, 10K to 1M), mini-batches of 512, a high peak rate after a short warm-up and
    # cosine decay over a step budget that grows as n^0.12 (1,102 steps at 7,000 training
    # rows, 1,915 at 700,000: more data, not more epochs), an L2 prior that fades with n,
    # validation every 50 steps on at most 8,192 rows of a moving average of the weights
    # (decay 0.9: it reaches each quality target sooner than the iterate at the high rate,
    # ending the same), the best validation's weights kept, and a stop once the study's
    # quality targets are reached; each step one compiled call (the native engine).
    "tuned": Recipe(
        activation="silu",
        init_scale=3.0,
        lr=0.08,
        beta2=0.99,
        weight_decay_n=0.3,
        batch_size=512,
        epochs=1,
        min_steps=1150,
        min_steps_exponent=0.12,
        schedule="cosine",
        warmup_steps=50,
        min_lr=1e-5,
        val_steps=50,
        val_rows=8192,
        restore_best=True,
        ema_decay=0.9,
        stop_at_target=True,
        engine="native",
    ),
}


class RecipeParams:
    """An estimator's `recipe` settings as nested parameters (recipe__lr, ...), as
    scikit-learn's get_params/set_params give them, e.g. to GridSearchCV."""

    recipe: str | dict[str, Any] | Recipe

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=False)
        if deep:
            with contextlib.suppress(ValueError):  # an invalid recipe shows up in fit
                for key, value in get_recipe(self.recipe).to_dict().items():
                    params[f"recipe__{key}"] = value
        return params

    def set_params(self, **params: Any):
        changes = {k.split("__", 1)[1]: params.pop(k) for k in list(params) if "__" in k}
        if changes:
            recipe = params.pop("recipe", self.recipe)
            self.recipe = {**get_recipe(recipe).to_dict(), **changes}
        return super().set_params(**params)


def get_recipe(recipe: str | dict[str, Any] | Recipe) -> Recipe:
    """A Recipe from its name, a dict of settings, or itself."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe)
    try:
        return RECIPES[recipe]
    except KeyError:
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}") from None
