"""PyTorch versions of jresgen's model families (NCHW, torch.nn), written the way a PyTorch user
would write them, plus the functions that load jresgen's Flax parameters into them."""
