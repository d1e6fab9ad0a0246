"""jresgen's benchmark suite: the same models in PyTorch (torch_reference/), weight transfer,
and a harness (`python -m benchmarks.run`) that times jresgen's train step against PyTorch's.

Needs the optional extra `bench` (torch, matplotlib); nothing in jresgen imports this package.
"""
