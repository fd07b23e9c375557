"""What the Snakefile uses at parse time (no torch): the config checks, each rule's tracked
code, and the jobs' logs."""
