"""Fast style transfer in PyTorch: pytorch/examples' fast_neural_style TransformerNet (the layout
jresgen.models.style.TransformerNet follows) and the loss jresgen/tasks/style_transfer.py trains
it with, over jresgen's random multi-scale features (jresgen/models/features.py, kind
"random") whose filters and style Gram matrices come from the jresgen state.

    ConvLayer = ReflectionPad2d(k // 2) + Conv2d;  UpsampleConvLayer = nearest x2 + ConvLayer
    conv 9x9 32, IN, ReLU -> conv 3x3/2 64, IN, ReLU -> conv 3x3/2 128, IN, ReLU
    -> 5 x ResidualBlock(128) -> up conv 64, IN, ReLU -> up conv 32, IN, ReLU -> conv 9x9 3

Sizes must be multiples of 4 here (jresgen mirrors other sizes up to one and crops back).
"""
import torch
import torch.nn.functional as F
from torch import nn


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, upsample=False):
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv2d(self.pad(x))


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, 3)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x):
        return x + self.in2(self.conv2(torch.relu(self.in1(self.conv1(x)))))


class TransformerNet(nn.Module):
    """x [B, 3, H, W] in [0, 1] -> [B, 3, H, W]."""

    def __init__(self, features=(32, 64, 128), num_blocks=5):
        super().__init__()
        f1, f2, f3 = features
        self.conv1, self.in1 = ConvLayer(3, f1, 9), nn.InstanceNorm2d(f1, affine=True)
        self.conv2, self.in2 = ConvLayer(f1, f2, 3, 2), nn.InstanceNorm2d(f2, affine=True)
        self.conv3, self.in3 = ConvLayer(f2, f3, 3, 2), nn.InstanceNorm2d(f3, affine=True)
        self.res = nn.Sequential(*[ResidualBlock(f3) for _ in range(num_blocks)])
        self.deconv1 = ConvLayer(f3, f2, 3, upsample=True)
        self.in4 = nn.InstanceNorm2d(f2, affine=True)
        self.deconv2 = ConvLayer(f2, f1, 3, upsample=True)
        self.in5 = nn.InstanceNorm2d(f1, affine=True)
        self.deconv3 = ConvLayer(f1, 3, 9)

    def forward(self, x):
        y = torch.relu(self.in1(self.conv1(x)))
        y = torch.relu(self.in2(self.conv2(y)))
        y = torch.relu(self.in3(self.conv3(y)))
        y = self.res(y)
        y = torch.relu(self.in4(self.deconv1(y)))
        y = torch.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def gram_matrix(f):
    """[B, C, H, W] -> [B, C, C] divided by H*W, as jresgen.metrics.gram.gram_matrix."""
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)


class RandomFeatures(nn.Module):
    """jresgen's "random" extractor: level s is the centred image average-pooled s times, then
    a VALID 5x5 conv and a ReLU. Filters are buffers (fixed), loaded from the jresgen state."""

    def __init__(self, layer_names, kernels, biases):
        super().__init__()
        self.layer_names = tuple(layer_names)
        for name in set(self.layer_names):
            self.register_buffer(f"{name}_weight", kernels[name])
            self.register_buffer(f"{name}_bias", biases[name])

    def forward(self, images):
        deepest = max(int(n[len("scale"):]) for n in self.layer_names)
        x, out = images - 0.5, {}
        for s in range(deepest + 1):
            if s > 0:
                x = F.avg_pool2d(x, 2)
            name = f"scale{s}"
            if name in self.layer_names:
                out[name] = torch.relu(F.conv2d(x, getattr(self, f"{name}_weight"),
                                                getattr(self, f"{name}_bias")))
        return [out[n] for n in self.layer_names]


class StyleLoss(nn.Module):
    """content_weight * relative content error + style_weight * relative Gram error summed over
    the style layers + tv_weight * mean squared neighbour difference (jresgen's `losses`)."""

    def __init__(self, features: RandomFeatures, style_grams, content_weight, style_weight,
                 tv_weight):
        super().__init__()
        self.features = features
        for i, g in enumerate(style_grams):
            self.register_buffer(f"gram{i}", g)
        self.weights = (content_weight, style_weight, tv_weight)

    def forward(self, out, images):
        with torch.no_grad():
            target = self.features(images)[-1]
        feats = self.features(out)
        content = torch.mean((feats[-1] - target) ** 2) / (torch.mean(target ** 2) + 1e-12)
        style = out.new_zeros(())
        for i, f in enumerate(feats[:-1] + [out - 0.5]):  # style layers, then the pixels
            t = getattr(self, f"gram{i}")
            style = style + torch.mean((gram_matrix(f) - t) ** 2) / (torch.mean(t ** 2) + 1e-12)
        tv = torch.mean((out[:, :, 1:] - out[:, :, :-1]) ** 2) + \
            torch.mean((out[:, :, :, 1:] - out[:, :, :, :-1]) ** 2)
        cw, sw, tw = self.weights
        return cw * content + sw * style + tw * tv


def from_config(model_cfg) -> TransformerNet:
    if model_cfg.norm != "instance" or len(model_cfg.features) != 3:
        raise NotImplementedError("the PyTorch TransformerNet covers instance norm and three "
                                  "conv widths")
    return TransformerNet(tuple(model_cfg.features), model_cfg.num_blocks)


def loss_from_config(config) -> StyleLoss:
    """The StyleLoss of a jresgen style-transfer config: the same fixed filters and style Grams
    jresgen's init_state puts in the state (jresgen.tasks.style_transfer.style_statistics)."""
    import numpy as np

    from benchmarks.torch_reference.transfer import conv_kernel
    from jresgen.tasks.style_transfer import feature_extractor, style_statistics

    if config.features.kind != "random":
        raise NotImplementedError("the PyTorch style loss covers the random features only")
    extractor, _ = feature_extractor(config)
    model_state = style_statistics(config)
    params = model_state["features"]
    kernels = {n: conv_kernel(params[n]["kernel"]) for n in params}
    biases = {n: torch.from_numpy(np.array(params[n]["bias"])) for n in params}
    grams = model_state["style_grams"]
    return StyleLoss(RandomFeatures(extractor.layer_names, kernels, biases),
                     [torch.from_numpy(np.array(grams[f"layer{i}"])) for i in range(len(grams))],
                     config.style.content_weight, config.style.style_weight,
                     config.style.tv_weight)
