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
        "source": "tfds",
        "data_dir": "",  # the prepared TFDS data; "" = TFDS's default
        "tfds_name": "",  # "" = the dataset's default TFDS name (jresgen/data/tfds_*.py)
        "train_split": "",  # "" = the dataset's (train)
        "eval_split": "",  # "" = the dataset's test or validation split (jresgen/data/tfds_*.py)
        "decode_threads": 0,  # images decoded per batch in parallel; 0 = min(8, CPUs)
        **keys})


def tiny_tfds(config):
    """What every public-data `:tiny` variant shares: few decode threads, a small eval split."""
    config.data.decode_threads = 2
    if "eval_examples" in config.data:
        config.data.eval_examples = 16
    return config
