"""Which roofline measurements a study needs (kept apart from roofline.py so that reading
them needs no torch)."""

from __future__ import annotations

from typing import Any

# The most rows the fast engine multiplies at once: a larger batch's step runs over chunks of
# this many rows and sums their gradients, so that each chunk's activations stay in cache
# (the seed protocol's 700,000-row step at 1M took 0.65 s in one pass and 0.38 s in chunks
# of 8,192, validation included, on this machine). It is also the most rows the roofline is
# measured at: the loop's products are never larger. The default study's largest batch,
# 7,000 rows, is one chunk, so its results did not change.
CHUNK_ROWS = 8192


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
