"""Where batches come from. `build_sr(config)` returns (train source, validation pairs)."""
from jresgen.errors import UserError


def _photos_sr(config):
    from jresgen.data.photos import SR_TRAIN_PHOTOS, SR_VALID_PHOTOS, load_photo
    from jresgen.data.sr import SRTrainSource, make_pairs

    d, scale = config.data, config.model.scale
    train_names = tuple(d.train_images) or SR_TRAIN_PHOTOS
    valid_names = tuple(d.valid_images) or SR_VALID_PHOTOS
    overlap = set(train_names) & set(valid_names)
    if overlap:
        raise UserError(f"images in both splits: {', '.join(sorted(overlap))}")
    try:
        train = make_pairs({n: load_photo(n) for n in train_names}, scale)
        valid = make_pairs({n: load_photo(n) for n in valid_names}, scale)
        source = SRTrainSource(train, scale, d.patch_size, config.batch_size, config.seed)
    except ValueError as e:
        raise UserError(str(e)) from e
    return source, valid


DATASETS = {"photos_sr": _photos_sr}


def build(config):
    """(train source with `.batch(step)`, evaluation data) for `config.data.name`."""
    name = config.data.name
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name](config)
