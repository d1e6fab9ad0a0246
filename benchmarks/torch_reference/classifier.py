"""jresgen's classifiers in PyTorch: LeNet and the CIFAR ResNets (He et al. 2016, BasicBlock,
BatchNorm, 1x1-conv projection shortcuts), as jresgen.models.classifier builds them.

Two places where jresgen's Flax layers are not PyTorch's defaults:
- Flax pads 'SAME'. For stride 1 that is k // 2 on every side (PyTorch's `padding=k//2`); for
  a 3x3 stride-2 conv on an even input it is 0 before and 1 after, so the strided convs pad
  explicitly (`SamePad2d`) instead of `padding=1`, which would shift the sampling grid.
- Flax flattens NHWC (height, width, channel order); the first dense layer after a flatten
  gets its input columns permuted on transfer (transfer.load_lenet), not here.
"""
import torch
import torch.nn.functional as F
from torch import nn


class SamePad2d(nn.Module):
    """TensorFlow/Flax 'SAME' padding for a k x k kernel at `stride` (the extra pixel after)."""

    def __init__(self, kernel: int, stride: int):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dimension first
            out = -(-size // self.stride)
            total = max((out - 1) * self.stride + self.kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)


def conv(cin, cout, kernel, stride=1, bias=True):
    if stride == 1:
        return nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=bias)
    return nn.Sequential(SamePad2d(kernel, stride), nn.Conv2d(cin, cout, kernel, stride, bias=bias))


class LeNet(nn.Module):
    """x [B, C, S, S] -> logits; conv5x5-relu-maxpool x2, dense-relu x2, dense."""

    def __init__(self, in_channels=1, image_size=16, num_classes=10, conv_features=(6, 16),
                 hidden=(120, 84)):
        super().__init__()
        layers, c = [], in_channels
        for f in conv_features:
            layers += [conv(c, f, 5), nn.ReLU(), nn.MaxPool2d(2)]
            c = f
        self.features = nn.Sequential(*layers)
        size = image_size // 2 ** len(conv_features)
        dims = [c * size * size, *hidden]
        self.hidden = nn.Sequential(*[m for a, b in zip(dims, dims[1:])
                                      for m in (nn.Linear(a, b), nn.ReLU())])
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x):
        return self.head(self.hidden(torch.flatten(self.features(x), 1)))


def batch_norm(c):
    # Flax BatchNorm(momentum=0.9) keeps 0.9 of the running average; PyTorch's momentum is the
    # weight of the new batch, 0.1.
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv(cin, cout, 3, stride, bias=False)
        self.bn1 = batch_norm(cout)
        self.conv2 = conv(cout, cout, 3, bias=False)
        self.bn2 = batch_norm(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          batch_norm(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu((x if self.shortcut is None else self.shortcut(x)) + y)


class ResNet(nn.Module):
    def __init__(self, stage_sizes=(3, 3, 3), stage_features=(16, 32, 64), in_channels=3,
                 num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(conv(in_channels, stage_features[0], 3, bias=False),
                                  batch_norm(stage_features[0]), nn.ReLU())
        blocks, c = [], stage_features[0]
        for s, (n, f) in enumerate(zip(stage_sizes, stage_features)):
            for b in range(n):
                blocks.append(BasicBlock(c, f, 2 if s > 0 and b == 0 else 1))
                c = f
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


_RESNETS = {"resnet20": (3, 3, 3), "resnet32": (5, 5, 5), "resnet56": (9, 9, 9)}


def from_config(model_cfg, in_channels: int, image_size: int) -> nn.Module:
    if model_cfg.arch == "lenet":
        return LeNet(in_channels, image_size, model_cfg.num_classes,
                     tuple(model_cfg.get("conv_features", (6, 16))),
                     tuple(model_cfg.get("hidden", (120, 84))))
    if model_cfg.arch in _RESNETS or model_cfg.arch == "resnet":
        if model_cfg.get("norm", "batch") != "batch" or \
                model_cfg.get("activation", "relu") != "relu" or \
                model_cfg.get("zero_init_residual", False):
            raise NotImplementedError("the PyTorch ResNet reference covers BatchNorm + ReLU")
        sizes = _RESNETS.get(model_cfg.arch) or tuple(model_cfg.stage_sizes)
        features = tuple(model_cfg.get("stage_features", (16, 32, 64)))
        return ResNet(sizes, features, in_channels, model_cfg.num_classes)
    raise NotImplementedError(f"no PyTorch reference for classifier arch {model_cfg.arch!r}")
