"""The loop's fixed sizes, read by the engines and the benchmark harness alike (kept free of
torch: the roofline's study sizes are read when the Snakefile is parsed)."""

# The most rows the fast engine multiplies at once: a larger batch's step runs over chunks of
# this many rows and sums their gradients, so that each chunk's activations stay in cache
# (the seed protocol's 700,000-row step at 1M took 0.65 s in one pass and 0.38 s in chunks
# of 8,192, validation included, on this machine). It is also the most rows the roofline is
# measured at: the loop's products are never larger. The default study's largest batch,
# 7,000 rows, is one chunk, so its results did not change.
CHUNK_ROWS = 8192

VAL_CHUNK = 512  # rows per validation forward pass: bounded memory whatever n
