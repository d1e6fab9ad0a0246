"""Loading jresgen's Flax parameters into the PyTorch references.

Flax stores conv kernels HWIO and dense kernels [in, out]; PyTorch wants OIHW and [out, in].
Every loader copies each tensor exactly once and fails if a parameter on either side is left
over, so a renamed layer cannot pass silently.
"""
import numpy as np
import torch


def conv_kernel(hwio) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.transpose(np.asarray(hwio), (3, 2, 0, 1))))


def dense_kernel(io) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.asarray(io).T))


def _vector(v) -> torch.Tensor:
    return torch.from_numpy(np.array(v))


def _flatten(tree, prefix=()):
    for key, value in tree.items():
        if isinstance(value, dict) or hasattr(value, "items"):
            yield from _flatten(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def load(module: torch.nn.Module, assignments: dict, flax_params) -> None:
    """`assignments` maps torch parameter names to (flax path tuple, converter); every flax leaf
    and every torch parameter must be used exactly once."""
    flax_leaves = dict(_flatten(flax_params))
    torch_params = dict(module.named_parameters())
    missing_torch = set(torch_params) - set(assignments)
    used = {path for path, _ in assignments.values()}
    missing_flax = set(flax_leaves) - used
    if missing_torch or missing_flax:
        raise ValueError(f"unmatched parameters: torch {sorted(missing_torch)}, "
                         f"flax {sorted('/'.join(p) for p in missing_flax)}")
    with torch.no_grad():
        for name, (path, convert) in assignments.items():
            value = convert(flax_leaves[path])
            target = torch_params[name]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(f"{name}: flax {'/'.join(path)} gives {tuple(value.shape)}, "
                                 f"torch wants {tuple(target.shape)}")
            target.copy_(value.to(target.dtype))


def conv_assignments(torch_name: str, flax_path: tuple, bias: bool = True) -> dict:
    out = {f"{torch_name}.weight": (flax_path + ("kernel",), conv_kernel)}
    if bias:
        out[f"{torch_name}.bias"] = (flax_path + ("bias",), _vector)
    return out


def dense_assignments(torch_name: str, flax_path: tuple, bias: bool = True) -> dict:
    out = {f"{torch_name}.weight": (flax_path + ("kernel",), dense_kernel)}
    if bias:
        out[f"{torch_name}.bias"] = (flax_path + ("bias",), _vector)
    return out


def vector_assignment(torch_name: str, flax_path: tuple) -> dict:
    return {torch_name: (flax_path, _vector)}


def load_sr(model, flax_params) -> None:
    """jresgen.models.sr.SRResNet params -> benchmarks.torch_reference.sr.SRResNet."""
    pairs = {}
    pairs.update(conv_assignments("head", ("head",)))
    for i in range(len(model.blocks)):
        for conv in ("conv1", "conv2"):
            pairs.update(conv_assignments(f"blocks.{i}.{conv}", (f"block_{i}", conv)))
    pairs.update(conv_assignments("body_conv", ("body_conv",)))
    convs = [i for i, layer in enumerate(model.upsampler) if isinstance(layer, torch.nn.Conv2d)]
    for stage, index in enumerate(convs):
        pairs.update(conv_assignments(f"upsampler.{index}", ("upsampler", f"conv_{stage}")))
    pairs.update(conv_assignments("tail", ("tail",)))
    load(model, pairs, flax_params)


def _conv_target(module: torch.nn.Module, name: str) -> str:
    """The Conv2d's name: strided 'SAME' convs are Sequential(SamePad2d, Conv2d)."""
    sub = module.get_submodule(name)
    return f"{name}.{len(sub) - 1}" if isinstance(sub, torch.nn.Sequential) else name


def _norm_assignments(torch_name: str, flax_path: tuple) -> dict:
    return {f"{torch_name}.weight": (flax_path + ("scale",), _vector),
            f"{torch_name}.bias": (flax_path + ("bias",), _vector)}


def _flattened_dense_kernel(channels: int):
    """A dense kernel after Flax's NHWC flatten, [(h, w, c), out], as the [out, (c, h, w)]
    weight that follows PyTorch's NCHW flatten."""
    def convert(io):
        io = np.asarray(io)
        side = int(round((io.shape[0] // channels) ** 0.5))
        hwco = io.reshape(side, side, channels, io.shape[1])
        return torch.from_numpy(np.ascontiguousarray(
            hwco.transpose(3, 2, 0, 1).reshape(io.shape[1], -1)))
    return convert


def load_lenet(model, flax_params) -> None:
    convs = [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d)]
    denses = [i for i, m in enumerate(model.hidden) if isinstance(m, torch.nn.Linear)]
    pairs = {}
    for k, index in enumerate(convs):
        pairs.update(conv_assignments(f"features.{index}", (f"conv{k + 1}",)))
    for k, index in enumerate(denses):
        pairs.update(dense_assignments(f"hidden.{index}", (f"dense{k + 1}",)))
    channels = model.features[convs[-1]].out_channels
    first = f"hidden.{denses[0]}.weight"
    pairs[first] = (pairs[first][0], _flattened_dense_kernel(channels))
    pairs.update(dense_assignments("head", ("head",)))
    load(model, pairs, flax_params)


def load_resnet(model, flax_params, batch_stats=None) -> None:
    """Parameters, and BatchNorm running statistics when `batch_stats` is given."""
    pairs = {}
    pairs.update(conv_assignments(_conv_target(model, "stem.0"), ("stem_conv",), bias=False))
    pairs.update(_norm_assignments("stem.1", ("stem_norm",)))
    names = sorted((k for k in flax_params if k.startswith("stage")),
                   key=lambda k: tuple(int(p) for p in k[5:].split("_block")))
    for i, block in enumerate(names):
        t = f"blocks.{i}"
        for c, n in (("conv1", "bn1"), ("conv2", "bn2")):
            pairs.update(conv_assignments(_conv_target(model, f"{t}.{c}"), (block, c),
                                          bias=False))
            pairs.update(_norm_assignments(f"{t}.{n}", (block, "norm" + c[-1])))
        if model.blocks[i].shortcut is not None:
            pairs.update(conv_assignments(f"{t}.shortcut.0", (block, "shortcut_conv"),
                                          bias=False))
            pairs.update(_norm_assignments(f"{t}.shortcut.1", (block, "shortcut_norm")))
    pairs.update(dense_assignments("head", ("head",)))
    load(model, pairs, flax_params)
    if batch_stats is not None:
        _load_running_stats(model, pairs, batch_stats)


def _load_running_stats(model, pairs, batch_stats) -> None:
    stats = dict(_flatten(batch_stats))
    buffers = dict(model.named_buffers())
    with torch.no_grad():
        for name, (path, _) in pairs.items():
            if name.endswith(".weight") and path[-1] == "scale":
                module = name[:-len(".weight")]
                buffers[f"{module}.running_mean"].copy_(_vector(stats[path[:-1] + ("mean",)]))
                buffers[f"{module}.running_var"].copy_(_vector(stats[path[:-1] + ("var",)]))


def load_classifier(model, flax_params, batch_stats=None) -> None:
    from benchmarks.torch_reference.classifier import LeNet
    if isinstance(model, LeNet):
        load_lenet(model, flax_params)
    else:
        load_resnet(model, flax_params, batch_stats)


def _unflattened_dense(channels: int, with_kernel: bool = True):
    """A dense layer whose output Flax reshapes to [h, w, c]: rows reordered to (c, h, w)."""
    def convert(value):
        value = np.asarray(value)
        out = value.shape[-1]
        side = int(round((out // channels) ** 0.5))
        if with_kernel:  # [in, (h, w, c)] -> [(c, h, w), in]
            v = value.reshape(value.shape[0], side, side, channels).transpose(3, 1, 2, 0)
            return torch.from_numpy(np.ascontiguousarray(v.reshape(out, value.shape[0])))
        return torch.from_numpy(np.ascontiguousarray(
            value.reshape(side, side, channels).transpose(2, 0, 1).reshape(out)))
    return convert


def load_vae(model, flax_params) -> None:
    pairs = {}
    enc, dec = ("encoder",), ("decoder",)
    pairs.update(conv_assignments("stem", enc + ("stem",)))
    for prefix, blocks, tag, path in (("down", model.down, "down", enc),
                                      ("up", model.up, "up", dec)):
        for i, block in enumerate(blocks):
            for c in ("conv1", "conv2"):
                pairs.update(conv_assignments(f"{prefix}.{i}.{c}", path + (f"{tag}{i + 1}", c)))
            if block.shortcut is not None:
                pairs.update(conv_assignments(f"{prefix}.{i}.shortcut",
                                              path + (f"{tag}{i + 1}", "shortcut_conv")))
    last_down = model.down[-1].conv2.out_channels
    pairs.update(dense_assignments("posterior", enc + ("posterior",)))
    pairs["posterior.weight"] = (pairs["posterior.weight"][0], _flattened_dense_kernel(last_down))
    pairs["project.weight"] = (dec + ("project", "kernel"), _unflattened_dense(model.top))
    pairs["project.bias"] = (dec + ("project", "bias"), _unflattened_dense(model.top, False))
    pairs.update(conv_assignments("logits", dec + ("logits",)))
    load(model, pairs, flax_params)


def load_style(model, flax_params) -> None:
    """jresgen.models.style.TransformerNet -> benchmarks.torch_reference.style.TransformerNet."""
    layers = [("conv1", "in1", "in"), ("conv2", "in2", "down1"), ("conv3", "in3", "down2"),
              ("deconv1", "in4", "up1"), ("deconv2", "in5", "up2")]
    pairs = {}
    for conv, norm, name in layers:
        pairs.update(conv_assignments(f"{conv}.conv2d", (f"{name}_conv", "conv")))
        pairs.update(_norm_assignments(norm, (f"{name}_norm",)))
    for i in range(len(model.res)):
        for k in ("1", "2"):
            pairs.update(conv_assignments(f"res.{i}.conv{k}.conv2d", (f"res{i + 1}", f"conv{k}")))
            pairs.update(_norm_assignments(f"res.{i}.in{k}", (f"res{i + 1}", f"norm{k}")))
    pairs.update(conv_assignments("deconv3.conv2d", ("out_conv", "conv")))
    load(model, pairs, flax_params)
