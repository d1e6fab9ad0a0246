"""optax optimizers and learning-rate schedules from a config's `optimizer` section."""
import jax
import ml_collections
import optax

from jresgen.errors import UserError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "warmup_cosine", "step", "linear")


def make_schedule(opt: ml_collections.ConfigDict, learning_rate: float, total_steps: int):
    """constant; warmup_cosine (linear warm-up over `warmup_steps`, cosine to
    `learning_rate * final_lr_fraction`); step (times `decay_factor` at each of
    `decay_boundaries`, given as fractions of total_steps); linear (to `learning_rate *
    final_lr_fraction`). The shape is built with a peak of 1 and scaled by `learning_rate`,
    so the learning rate may be a traced value (a sweep's; optax's schedules branch on it)."""
    unit = _unit_schedule(opt, total_steps)
    return lambda step: learning_rate * unit(step)


def _unit_schedule(opt: ml_collections.ConfigDict, total_steps: int):
    total = max(total_steps, 1)
    if opt.schedule == "constant":
        return optax.constant_schedule(1.0)
    if opt.schedule == "warmup_cosine":
        warmup = min(opt.warmup_steps, total - 1)
        return optax.warmup_cosine_decay_schedule(
            init_value=0.0, peak_value=1.0, warmup_steps=warmup, decay_steps=total,
            end_value=opt.final_lr_fraction)
    if opt.schedule == "linear":  # SNGAN's decay to learning_rate * final_lr_fraction
        return optax.linear_schedule(1.0, opt.final_lr_fraction, total)
    if opt.schedule == "step":
        boundaries = {int(f * total): opt.decay_factor for f in opt.decay_boundaries}
        return optax.piecewise_constant_schedule(1.0, boundaries)
    raise UserError(f"optimizer.schedule must be one of {', '.join(SCHEDULES)}, "
                    f"got {opt.schedule!r}")


def decay_mask(params):
    """True for the weights weight decay applies to: kernels and embeddings (ndim > 1), not
    biases nor norm scales and offsets (as flax's ImageNet example decays only ndim > 1)."""
    return jax.tree.map(lambda p: p.ndim > 1, params)


def make_optimizer(opt: ml_collections.ConfigDict, learning_rate: float, total_steps: int):
    """Returns (tx, schedule of the train step). Gradient clipping by global norm comes first
    when `grad_clip_norm` > 0; weight decay (adamw, sgd) skips biases and norm parameters.

    `accumulate_steps` k > 1: gradient accumulation (optax.MultiSteps). Each train step takes
    one micro-batch of `batch_size`; every k-th step applies the mean of the last k gradients,
    so the optimizer sees batches of k * batch_size and makes total_steps / k updates (its
    schedule counts those updates; the returned schedule maps a train step to its update)."""
    k = opt.get("accumulate_steps", 1)
    if k > 1:
        inner, schedule = make_optimizer(_without_accumulation(opt), learning_rate,
                                         total_steps // k)
        tx = optax.MultiSteps(inner, every_k_schedule=k).gradient_transformation()
        return tx, lambda step: schedule(step // k)
    schedule = make_schedule(opt, learning_rate, total_steps)
    if opt.name == "adam":
        tx = optax.adam(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps)
    elif opt.name == "adamw":
        tx = optax.adamw(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps,
                         weight_decay=opt.weight_decay, mask=decay_mask)
    elif opt.name == "sgd":
        tx = optax.sgd(schedule, momentum=opt.momentum or None, nesterov=opt.nesterov)
        if opt.weight_decay:
            tx = optax.chain(optax.add_decayed_weights(opt.weight_decay, mask=decay_mask), tx)
    else:
        raise UserError(f"optimizer.name must be one of {', '.join(OPTIMIZERS)}, got {opt.name!r}")
    if opt.grad_clip_norm > 0:
        tx = optax.chain(optax.clip_by_global_norm(opt.grad_clip_norm), tx)
    return tx, schedule


def _without_accumulation(opt: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    inner = ml_collections.ConfigDict(opt.to_dict())
    inner.accumulate_steps = 1
    return inner
