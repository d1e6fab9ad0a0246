"""Family-agnostic machinery: data parallelism, the loop, checkpoints, metric writing."""
