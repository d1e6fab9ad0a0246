"""The fully convolutional SNGAN texture model of configs/sngan_texture.py, trained on random
64x64 patches of one class of the Describable Textures Dataset (Cimpoi et al. 2014; TFDS `dtd`,
split 1: 40 training images per class), each image halved first so a patch spans more of the
pattern. Pick the class with --config.data.dtd_class (one of DTD's 47 names; "" = all).

With DTD prepared (`tfds build dtd --data_dir DIR --file_format=array_record` on a machine with
internet):

    jresgen train --config configs/sngan_dtd.py --workdir runs/sngan_dtd \
        --config.data.data_dir=DIR --config.data.dtd_class=honeycombed
    jresgen sample --workdir runs/sngan_dtd --size 256x256 honeycombed.png

Without TFDS, on DTD's own archive (dtd/images/CLASS/*.jpg) or any texture images in
class sub-folders: `--config.data.source=folder --config.data.train_dir=dtd/images`.

No paper figure: evaluation reports the Gram distance of a 256x256 sample to the class's
first training image, beside the floor and start that `jresgen texture` prints.
"""
from sngan_texture import get_config as texture_config
from sngan_texture import tiny

from common_tfds import tfds_data, tiny_tfds


def get_config(variant=None):
    config = texture_config()
    config.model.channels = 3
    config.data = tfds_data("dtd", dtd_class="honeycombed", patch_size=64, image_scale=0.5,
                            # folder source: TRAIN/CLASS/IMAGE (jresgen/data/dtd_folders.py)
                            train_dir="")
    config.total_steps = 20_000
    if variant == "tiny":
        return tiny_tfds(tiny(config))
    if variant is not None:
        raise ValueError(f"unknown variant {variant!r} (known: tiny)")
    return config
