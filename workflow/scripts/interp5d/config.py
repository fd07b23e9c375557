"""Checks of the workflow's config beyond its JSON schema, before any job starts."""

from __future__ import annotations

from typing import Any

from .data import DataError, split_sizes
from .functions import FUNCTIONS
from .recipes import Recipe


class ConfigError(ValueError):
    pass


def split_fractions(config: dict[str, Any]) -> tuple[float, float, float]:
    s = config["split"]
    return (s["train"], s["val"], s["test"])


def check_config(config: dict[str, Any]) -> None:
    """Raise ConfigError listing every problem, each naming its key and what is allowed."""
    problems: list[str] = []
    for fn in config["functions"]:
        if fn not in FUNCTIONS:
            problems.append(f"functions: unknown function {fn!r}; allowed: {sorted(FUNCTIONS)}")
    fractions = split_fractions(config)
    if abs(sum(fractions) - 1.0) > 1e-9:
        problems.append(
            f"split: train + val + test must sum to 1, got {' + '.join(map(str, fractions))}"
            f" = {sum(fractions):g}"
        )
    else:
        for n in config["sizes"]:
            try:
                split_sizes(n, fractions)
            except DataError as e:
                problems.append(f"sizes: {e}")
    for name, settings in config["recipes"].items():
        try:
            Recipe.from_dict(settings)
        except (ValueError, TypeError) as e:
            problems.append(f"recipes.{name}: {e}")
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
