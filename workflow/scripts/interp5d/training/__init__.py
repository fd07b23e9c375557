"""The training loop (plan, schedule, validation, stop) and its engines."""
