"""Where batches come from: `build(config)` returns (train source, evaluation data) for the
config's `data.name`. A train source has `batch_size` and `batch(step, rows=None) -> global
batch` (or only its `rows`, jresgen/data/rows.py), a pure function of (seed, step), so a resumed
run sees the batches an uninterrupted one would."""
from jresgen.errors import UserError


def _photos_sr(config):
    from jresgen.data.photos import SR_TRAIN_PHOTOS, SR_VALID_PHOTOS, load_photo
    from jresgen.data.sr import make_pairs, train_source
    from jresgen.data.sr_folders import build_sr_folders, source_of

    if source_of(config.data) == "folder":  # the user's image folders
        return build_sr_folders(config)
    d, scale = config.data, config.model.scale
    train_names = tuple(d.train_images) or SR_TRAIN_PHOTOS
    valid_names = tuple(d.valid_images) or SR_VALID_PHOTOS
    overlap = set(train_names) & set(valid_names)
    if overlap:
        raise UserError(f"images in both splits: {', '.join(sorted(overlap))}")
    try:
        valid = make_pairs({n: load_photo(n) for n in valid_names}, scale)
        source = train_source({n: load_photo(n) for n in train_names}, d, scale,
                              config.batch_size, config.seed)
    except ValueError as e:
        raise UserError(str(e)) from e
    return source, valid


def _lazy(module: str, function: str):
    """A DATASETS entry that imports `module` only when used (no dataset pays for another's
    imports) and reports its ValueErrors as one line."""
    def build(config):
        import importlib
        try:
            return getattr(importlib.import_module(module), function)(config)
        except ValueError as e:
            raise UserError(str(e)) from e
    return build


def _tfds(module: str, function: str):
    """A public dataset read through TFDS (jresgen/data/tfds_records.py): `data.source`, where
    a config has it, must say "tfds"."""
    build_fn = _lazy(module, function)

    def build(config):
        source = config.data.get("source", "tfds")
        if source != "tfds":
            folder = " (or 'folder' with data.train_dir)" if "train_dir" in config.data else ""
            raise UserError(f"data.name={config.data.name!r} is read from TFDS: "
                            f"data.source must be 'tfds'{folder}, got {source!r}")
        return build_fn(config)
    return build


def _div2k(config):
    """DIV2K from TFDS (its bicubic LR), or with `data.source=folder` from DIV2K's folders as
    downloaded, read as any SR image folder (jresgen/data/sr_folders.py)."""
    from jresgen.data.sr_folders import build_sr_folders, source_of

    if source_of(config.data, default="tfds") == "folder":
        return build_sr_folders(config)
    degradation = config.data.get("degradation", "bicubic")
    if degradation != "bicubic":
        raise UserError(f"data.degradation={degradation!r} needs HR images only: with TFDS, "
                        f"DIV2K's LR is its own bicubic (use data.source=folder for 'random')")
    return _lazy("jresgen.data.tfds_div2k", "build_div2k")(config)


# name -> build(config) returning (train source, evaluation data)
DATASETS = {"photos_sr": _photos_sr,
            "digits": _lazy("jresgen.data.digits", "build_digits"),
            "photo_crops": _lazy("jresgen.data.photo_crops", "build_photo_crops"),
            "texture_patches": _lazy("jresgen.data.texture_patches", "build_texture_patches"),
            "texture_exemplar": _lazy("jresgen.data.texture_exemplar", "build_texture_exemplar"),
            **{name: _tfds("jresgen.data.tfds_images", "build_tfds_images")
               for name in ("mnist", "cifar10", "celeb_a", "imagenette")},
            "div2k": _div2k,
            "dtd": _tfds("jresgen.data.tfds_dtd", "build_dtd")}


def build(config):
    """(train source with `.batch(step)`, evaluation data) for `config.data.name`."""
    name = config.data.name
    from jresgen.data.class_folders import reads_class_folders
    if reads_class_folders(config):  # the user's images, whatever data.name says
        builder = (_lazy("jresgen.data.dtd_folders", "build_dtd_folders") if name == "dtd"
                   else _lazy("jresgen.data.class_folders", "build_class_folders"))
    elif name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    else:
        builder = DATASETS[name]
    source, eval_data = builder(config)
    if config.task == "gan":  # n_dis discriminator batches per step (jresgen/data/gan.py)
        from jresgen.data.gan import StackedDraws
        source = StackedDraws(source, config.gan.n_dis)
    return source, eval_data
