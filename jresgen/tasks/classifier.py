"""Image classification: the pure functions its training needs.

Batches are {"image": [B, H, W, C] in [0, 1], "label": int32 [B]}. The loss is softmax
cross-entropy; the metrics are loss and top-1 accuracy. Evaluation covers every test sample:
the split is cut into batches of `config.data.eval_batch_size`, the last one padded and its
padding masked out, so every batch has one shape (one compilation) and none is dropped.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data.batching import padded_batches
from jresgen.errors import UserError
from jresgen.models import classifier as classifier_models
from jresgen.tasks.state import TrainState, mean_over_devices


def build_model(config, axis_name=None):
    try:
        return classifier_models.build(config.model, axis_name=axis_name)
    except (ValueError, TypeError) as e:
        raise UserError(f"config.model: {e}") from e


def init_state(config, rng, batch, make_optimizer) -> TrainState:
    init_rng, state_rng = jax.random.split(rng)
    variables = build_model(config).init(init_rng, jnp.asarray(batch["image"][:1]), train=False)
    params = variables.pop("params")
    tx, _ = make_optimizer()
    return TrainState.create(params=params, model_state=dict(variables), tx=tx, rng=state_rng)


def _loss_and_accuracy(logits, labels):
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return loss, jnp.mean(jnp.argmax(logits, -1) == labels)


def train_step(state: TrainState, batch, *, config, axis_name=None):
    model = build_model(config, axis_name)
    mutable = list(state.model_state)

    def loss_fn(params):
        logits, new_model_state = model.apply({"params": params, **state.model_state},
                                              batch["image"], train=True, mutable=mutable)
        loss, accuracy = _loss_and_accuracy(logits, batch["label"])
        return loss, (new_model_state, accuracy)

    (loss, (new_model_state, accuracy)), grads = \
        jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    grads, loss, accuracy = mean_over_devices((grads, loss, accuracy), axis_name)
    state = state.apply_gradients(grads, model_state=dict(new_model_state))
    return state, {"loss": loss, "accuracy": accuracy, "grad_norm": optax.tree.norm(grads),
                   "param_norm": optax.tree.norm(state.params)}


@functools.partial(jax.jit, static_argnames=("model",))
def _logits(model, variables, images):
    return model.apply(variables, images, train=False)


def predict_logits(config, state: TrainState, images: np.ndarray) -> np.ndarray:
    """Logits [N, classes] for any number of images (eval mode)."""
    model = build_model(config)
    variables = jax.device_put({"params": state.params, **state.model_state})
    out = []
    for batch, mask in padded_batches({"image": images}, config.data.eval_batch_size):
        out.append(np.asarray(_logits(model, variables, jnp.asarray(batch["image"])))[mask])
    return np.concatenate(out)


def evaluate(config, state: TrainState, test) -> tuple[dict, dict]:
    """Top-1 accuracy, mean cross-entropy and the confusion matrix (rows: true class, columns:
    predicted) over the whole test split; no images."""
    logits = predict_logits(config, state, test["image"])
    labels = np.asarray(test["label"])
    num_classes = logits.shape[-1]
    predicted = logits.argmax(-1)
    loss = float(optax.softmax_cross_entropy_with_integer_labels(
        jnp.asarray(logits), jnp.asarray(labels)).mean())
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    summary = {"accuracy": float(np.mean(predicted == labels)), "loss": loss,
               "count": int(len(labels)), "errors": int(np.sum(predicted != labels)),
               "confusion": confusion.tolist()}
    return summary, {}


def format_report(summary: dict) -> str:
    confusion = np.asarray(summary["confusion"])
    k = len(confusion)
    lines = [f"test accuracy {100 * summary['accuracy']:.2f}% "
             f"({summary['count'] - summary['errors']}/{summary['count']}), "
             f"cross-entropy {summary['loss']:.4f}",
             "confusion (rows: true class, columns: predicted):",
             "     " + "".join(f"{j:>5}" for j in range(k))]
    lines += [f"{i:>5}" + "".join(f"{v:>5}" for v in row) for i, row in enumerate(confusion)]
    return "\n".join(lines)


def eval_headline(summary: dict) -> dict[str, float]:
    return {"test_accuracy": summary["accuracy"], "test_loss": summary["loss"]}
