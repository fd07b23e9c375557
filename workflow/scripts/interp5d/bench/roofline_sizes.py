"""Which roofline measurements a study needs (kept apart from roofline.py so that reading
them needs no torch)."""

from __future__ import annotations

from typing import Any

from interp5d.training.limits import CHUNK_ROWS  # the most rows the loop multiplies at once


def roofline_shapes(recipes: dict[str, Any], n_trains: list[int]) -> list[dict[str, Any]]:
    """The (layer widths, batch rows) of every recipe's training steps in a study: its
    batch size, or the whole training split for full-batch recipes, at most CHUNK_ROWS rows
    (what the fast engine multiplies at once)."""
    from interp5d.recipes import Recipe

    shapes = set()
    for settings in recipes.values():
        r = settings if isinstance(settings, Recipe) else Recipe.from_dict(settings)
        widths = (5, *r.hidden, 1)
        for n in n_trains:
            rows = n if r.batch_size is None else min(r.batch_size, n)
            shapes.add((widths, min(rows, CHUNK_ROWS)))
    return [{"widths": list(w), "batch": b} for w, b in sorted(shapes)]
