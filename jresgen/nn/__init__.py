"""Building blocks: residual blocks, up/down blocks (their resampling convs at low resolution),
pixel shuffle, DCGAN's up-sampling conv, norms, activations, 2x2 max pooling."""
from jresgen.nn.activations import Activation, get_activation
from jresgen.nn.blocks import (BLOCKS, BasicBlock, BottleneckBlock, PreActBlock, ResidualBlock,
                               ResidualDownBlock, ResidualUpBlock, count_params, downsample_avg,
                               upsample_nearest)
from jresgen.nn.norms import NORMS, ConditionalBatchNorm, apply_norm, make_norm
from jresgen.nn.spectral_norm import spectral_normalized
from jresgen.nn.pixel_shuffle import PixelShuffleUpsampler, pixel_shuffle
from jresgen.nn.pooling import max_pool_2x2
from jresgen.nn.strided_conv import Conv4x4S2, conv4x4_s2
from jresgen.nn.conv3x3 import Conv3x3, conv3x3
from jresgen.nn.remat import REMAT_POLICIES, rematerialized, residual_bytes
from jresgen.nn.resample_conv import Conv3x3AvgPool, UpsampleConv3x3
from jresgen.nn.transposed_conv import UpConv4x4, conv_transpose_4x4_s2

__all__ = [
    "Activation", "get_activation", "BLOCKS", "BasicBlock", "BottleneckBlock", "PreActBlock",
    "ResidualBlock", "ResidualDownBlock", "ResidualUpBlock", "count_params", "downsample_avg",
    "upsample_nearest", "NORMS", "ConditionalBatchNorm", "apply_norm", "make_norm",
    "PixelShuffleUpsampler", "pixel_shuffle", "spectral_normalized", "UpConv4x4",
    "conv_transpose_4x4_s2", "REMAT_POLICIES", "rematerialized",
    "residual_bytes", "Conv3x3AvgPool", "UpsampleConv3x3", "max_pool_2x2",
    "Conv4x4S2", "conv4x4_s2", "Conv3x3", "conv3x3",
]
