"""The base of the public-dataset configs (not an experiment itself): a `data` section read
through TensorFlow Datasets (jresgen/data/tfds_*.py). The data must be prepared beforehand, on
a machine with internet: `tfds build NAME --data_dir DIR --file_format=array_record`; pass
`--config.data.data_dir=DIR` (or leave it "" for TFDS's default, ~/tensorflow_datasets). Without
the prepared data, or without `pip install 'jresgen[tfds]'`, `jresgen train` stops with one line
saying so."""
import ml_collections


def tfds_data(name: str, **keys) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({
        "name": name,  # mnist | cifar10 | celeb_a | imagenette | div2k | dtd
        "source": "tfds",  # or "folder" where a config adds class_folder_keys
        "data_dir": "",  # the prepared TFDS data; "" = TFDS's default
        "tfds_name": "",  # "" = the dataset's default TFDS name (jresgen/data/tfds_*.py)
        "train_split": "",  # "" = the dataset's (train)
        "eval_split": "",  # "" = the dataset's test or validation split (jresgen/data/tfds_*.py)
        "decode_threads": 0,  # images decoded per batch in parallel; 0 = min(8, CPUs)
        **keys})


def class_folder_keys(channels: int) -> dict:
    """The keys of `data.source = "folder"` for a classifier, GAN or VAE config: the same
    experiment on the user's images, one sub-folder per class (e.g. CIFAR-10 saved as PNG
    folders), instead of TFDS's (jresgen/data/class_folders.py). Each image's shorter side is
    resized to image_size and the centre square kept; pad_crop and random_flip augment as on
    TFDS, the TFDS-only keys (data_dir, tfds_name, splits, crops) are not read."""
    return dict(
        train_dir="",  # TRAIN/CLASS/IMAGE (folder source)
        valid_dir="",  # the same classes; "": test_fraction of each class of train_dir
        test_fraction=0.1,  # held out per class when valid_dir is ""
        split_seed=0,
        channels=channels,  # images converted to 1 (luma) or 3 channels
        resize="bicubic")  # nearest | bilinear | bicubic


def tiny_tfds(config):
    """What every public-data `:tiny` variant shares: few decode threads, a small eval split."""
    config.data.decode_threads = 2
    if "eval_examples" in config.data:
        config.data.eval_examples = 16
    return config
