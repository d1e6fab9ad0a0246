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


def _path_leaves(tree) -> dict:
    """{path tuple: leaf}, Flax's '/'-joined variable names (spectral norm's 'conv1/kernel/u')
    split like nested keys, so trees read back from the exchange .npz match in-memory ones."""
    return {tuple(part for key in path for part in str(key).split("/")): leaf
            for path, leaf in _flatten(tree)}


def _gan_generator_assignments(model) -> dict:
    from benchmarks.torch_reference.gan import DCGANGenerator
    pairs = {}
    if isinstance(model, DCGANGenerator):
        convs = [i for i, m in enumerate(model.main) if isinstance(m, torch.nn.ConvTranspose2d)]
        norms = [i for i, m in enumerate(model.main) if isinstance(m, torch.nn.BatchNorm2d)]
        for k, index in enumerate(convs):  # flax [kh, kw, out, in] -> torch [in, out, kh, kw]
            pairs.update(conv_assignments(f"main.{index}", (f"convT{k}",), bias=False))
        for k, index in enumerate(norms):
            pairs.update(_norm_assignments(f"main.{index}", (f"norm{k}",)))
        return pairs
    pairs["l1.weight"] = (("linear", "kernel"), _unflattened_dense(model.linear_features))
    for i in range(len(model.blocks)):
        t, f = f"blocks.{i}", (f"block{i + 1}",)
        for c, n in (("c1", "conv1"), ("c2", "conv2"), ("c_sc", "shortcut_conv")):
            pairs.update(conv_assignments(f"{t}.{c}", f + (n,), bias=False))
        for b, n in (("b1", "norm1"), ("b2", "norm2")):
            pairs.update(_norm_assignments(f"{t}.{b}", f + (n,)))
    pairs.update(_norm_assignments("b_out", ("out_norm",)))
    pairs.update(conv_assignments("c_out", ("out_conv",)))
    return pairs


def _sn_assignments(torch_name: str, flax_path: tuple, convert) -> dict:
    """A spectrally normalised layer: torch keeps the raw weight as `weight_orig`."""
    return {f"{torch_name}.weight_orig": (flax_path + ("kernel",), convert),
            f"{torch_name}.bias": (flax_path + ("bias",), _vector)}


def _gan_discriminator_assignments(model) -> tuple[dict, dict]:
    """(parameter assignments, {torch SN module name: flax path of its layer}); the power-
    iteration vector of layer `block1/conv1` is spectral_norm/block1/conv1_sn/conv1/kernel/u."""
    from benchmarks.torch_reference.gan import DCGANDiscriminator
    pairs, sn_layers = {}, {}
    if isinstance(model, DCGANDiscriminator):
        convs = [i for i, m in enumerate(model.main) if isinstance(m, torch.nn.Conv2d)]
        for k, index in enumerate(convs):
            pairs.update(conv_assignments(f"main.{index}", (f"conv{k}",), bias=False))
            after = model.main[index + 1] if index + 1 < len(model.main) else None
            if isinstance(after, torch.nn.BatchNorm2d):
                pairs.update(_norm_assignments(f"main.{index + 1}", (f"norm{k}",)))
        return pairs, sn_layers
    for i, block in enumerate(model.blocks):
        for c, n in (("c1", "conv1"), ("c2", "conv2"), ("c_sc", "shortcut_conv")):
            if c == "c_sc" and block.c_sc is None:
                continue
            name, path = f"blocks.{i}.{c}", (f"block{i + 1}", n)
            pairs.update(_sn_assignments(name, path, conv_kernel))
            sn_layers[name] = path
    pairs.update(_sn_assignments("l_out", ("linear",), dense_kernel))
    sn_layers["l_out"] = ("linear",)
    return pairs, sn_layers


def _load_sn_vectors(model, sn_layers: dict, sn_tree) -> None:
    """jresgen's u (shape [1, out]; Flax reads a kernel as [kh*kw*in, out]) is torch's weight_u
    (torch reads the weight as [out, in*kh*kw]: the same out). weight_v is set to W^T u
    normalised, the v torch's next training forward computes first anyway."""
    leaves = {p: v for p, v in _path_leaves(sn_tree).items() if p[-1] == "u"}
    used = set()
    with torch.no_grad():
        for name, path in sn_layers.items():
            key = path[:-1] + (path[-1] + "_sn", path[-1], "kernel", "u")
            used.add(key)
            module = model.get_submodule(name)
            u = torch.from_numpy(np.asarray(leaves[key], np.float32).reshape(-1))
            w = module.weight_orig.reshape(module.weight_orig.shape[0], -1)
            module.weight_u.copy_(u)
            module.weight_v.copy_(torch.nn.functional.normalize(w.t() @ u, dim=0, eps=1e-12))
    if set(leaves) != used:
        raise ValueError(f"unmatched spectral-norm vectors: {sorted(set(leaves) - used)}")


def load_gan(model, tree, g_batch_stats=None, d_batch_stats=None) -> None:
    """jresgen's GAN -> benchmarks.torch_reference.gan.GAN. `tree` = {"generator": g_params,
    "discriminator": d_params, "spectral_norm": D's spectral_norm collection}; BatchNorm
    running statistics too when given."""
    g_pairs = _gan_generator_assignments(model.generator)
    load(model.generator, g_pairs, tree["generator"])
    d_pairs, sn_layers = _gan_discriminator_assignments(model.discriminator)
    load(model.discriminator, d_pairs, tree["discriminator"])
    if sn_layers:
        _load_sn_vectors(model.discriminator, sn_layers, tree["spectral_norm"])
    for net, pairs, stats in ((model.generator, g_pairs, g_batch_stats),
                              (model.discriminator, d_pairs, d_batch_stats)):
        if stats is not None:
            _load_running_stats(net, pairs, stats)


def load_texture(model, flax_params) -> None:
    """jresgen.models.texture.TextureNet -> benchmarks.torch_reference.texture.TextureNet."""
    def block(torch_name, flax_name, module):
        out = {}
        for c, n in (("conv1", "norm1"), ("conv2", "norm2")):
            out.update(conv_assignments(f"{torch_name}.{c}", (flax_name, c), bias=False))
            out.update(_norm_assignments(f"{torch_name}.{n}", (flax_name, n)))
        if module.shortcut is not None:
            out.update(conv_assignments(f"{torch_name}.shortcut.0", (flax_name, "shortcut_conv"),
                                        bias=False))
            out.update(_norm_assignments(f"{torch_name}.shortcut.1", (flax_name, "shortcut_norm")))
        return out

    pairs = {}
    for k in range(model.scales):
        pairs.update(conv_assignments(f"noise_convs.{k}", (f"noise_conv_{k}",)))
        for i, b in enumerate(model.noise_blocks[k]):
            pairs.update(block(f"noise_blocks.{k}.{i}", f"noise_block_{k}_{i}", b))
    for k in range(model.scales - 1):
        for i, b in enumerate(model.join_blocks[k]):
            pairs.update(block(f"join_blocks.{k}.{i}", f"join_block_{k}_{i}", b))
    pairs.update(conv_assignments("to_image", ("to_image",)))
    load(model, pairs, flax_params)
