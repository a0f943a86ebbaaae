"""Throughput of the GAN train step: ours with and without XLA vs the keras-io
DCGAN recipe, for the same networks, side by side in one run.

    python benchmarks/bench_gan.py [--rounds 5] [--width 32] [--batch-size 32]

The reference is a faithful re-implementation of the `train_step` of the
keras-io example "DCGAN to generate face images" (fchollet,
https://keras.io/examples/generative/dcgan_overriding_train_step/): generate,
train D on the concatenated real + fake batch with noisy labels
(`labels += 0.05 * uniform`), then a second generator pass for the G update,
binary cross-entropy; no XLA, a `tf.data` pipeline without prefetch. Like
keras-io it calls the networks without `training=True`, so the generator's
batch norm runs in inference mode, which is cheaper than training it; the
"training mode" variant passes `training=True` as our step does. Ours is
`tfunsup.gan.GAN` fed by `tfunsup.data.make_dataset` (fixed prefetch, no
autotune). Both train the same `build_generator` / `build_discriminator`
networks on MNIST-5k. "ours" trains with TensorFlow's fused kernels
(`tfunsup.layers.FusedBatchNormalization` in the generator,
`tfunsup.optimizers.FusedAdam`: `train_gan(fused_kernels=True)`); the
"Keras BN" / "Keras Adam" variants swap in Keras' own layer / optimizer
(Keras BN + Adam is the library default), showing what the fused kernels
gain. `--variants` picks variants (the keras-io recipe always runs, as the
reference of the ratios); `--examples N` trains on the first N images.

The variants run interleaved, one epoch each per round, so a busy machine
slows them alike. Images/s of an epoch are timed from the end of its first
batch to the end of the epoch (excluding `tf.data` start-up and the
epoch-start stall); the whole `fit` call's wall time is reported too.
Medians over the rounds, and the median over the rounds of each round's
ratio to the reference (paired, so less sensitive to a noisy machine) with
the quartiles of those ratios; the first round (tracing / XLA compilation)
is a warm-up and not counted.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfunsup.data import load_dataset, make_dataset  # noqa: E402
from tfunsup.gan import (  # noqa: E402
    GAN,
    build_discriminator,
    build_generator,
    kmeans_pseudo_labels,
)
from tfunsup.optimizers import FusedAdam  # noqa: E402


class KerasIODCGAN(keras.Model):
    """The keras-io DCGAN `train_step`, for any generator / discriminator
    (the discriminator here outputs logits, so the loss takes `from_logits`)."""

    def __init__(self, discriminator, generator, latent_dim, training=None):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        # keras-io calls the networks without `training`, so their batch norm
        # runs in inference mode (on its initial moving statistics); True
        # trains them the way our step (and DCGAN) does.
        self.training = training
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(random_latent_vectors, training=self.training)
        combined_images = tf.concat([generated_images, real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images, training=self.training)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(
                self.generator(random_latent_vectors, training=self.training),
                training=self.training)
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


class EpochTimer(keras.callbacks.Callback):
    """Seconds and steps from the end of the first call of the train function
    (one step, or `steps_per_execution` steps) to the end of the epoch.

    Keras reports the index of the last step of each call to
    `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = None

    def on_train_batch_end(self, batch, logs=None):
        if self.start is None:
            self.start, self.first = time.perf_counter(), batch
        self.last = batch

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start
        self.timed_batches = self.last - self.first
        self.batches = self.last + 1


def _networks(shape, latent_dim, width, discriminator_width, dtype=None, batch_norm="fused"):
    """Generator and discriminator with the same initial weights for every
    variant (the batch norm's class does not change its weights)."""
    keras.utils.set_random_seed(0)
    return (build_generator(shape, latent_dim, width, dtype=dtype, batch_norm=batch_norm),
            build_discriminator(shape, discriminator_width, dtype=dtype, batch_norm=batch_norm))


def _fused_optimizers():
    """Our DCGAN optimizers with `tfunsup.optimizers.FusedAdam`."""
    return {"d_optimizer": FusedAdam(2e-4, beta_1=0.5),
            "g_optimizer": FusedAdam(2e-4, beta_1=0.5)}


def _keras_io_optimizers():
    """keras-io's DCGAN optimizers: Keras' Adam(2e-4, beta_1=0.5) for both."""
    return {"d_optimizer": keras.optimizers.Adam(2e-4, beta_1=0.5),
            "g_optimizer": keras.optimizers.Adam(2e-4, beta_1=0.5)}


# name: (jit_compile, dtype policy, steps_per_execution, Keras BN, Keras Adam)
VARIANTS = {
    "ours, no XLA": (False, None, 1, False, False),
    "ours, Keras BN": (False, None, 1, True, False),
    "ours, Keras Adam": (False, None, 1, False, True),
    "ours, Keras BN + Adam": (False, None, 1, True, True),
    "ours, XLA": (True, None, 1, False, False),
    "ours, XLA, Keras BN + Adam": (True, None, 1, True, True),
    "ours, bfloat16": (False, "mixed_bfloat16", 1, False, False),
    "ours, 32 steps/call": (False, None, 32, False, False),
    "ours, bf16, 32 steps/call": (False, "mixed_bfloat16", 32, False, False),
    "ours, XLA, bf16, 32 steps": (True, "mixed_bfloat16", 32, False, False),
}
OTHERS = ("CLI default (50 clusters)", "keras-io, training mode", "keras-io recipe")


def build_variants(images, latent_dim, width, discriminator_width, batch_size, names=None):
    """The variants named in `names` (default all) plus the keras-io recipe."""
    names = list(VARIANTS) + list(OTHERS) if names is None else list(names)
    if "keras-io recipe" not in names:
        names.append("keras-io recipe")  # the reference of the ratios
    shape = images.shape[1:]
    variants = {}
    for name in names:
        if name not in VARIANTS:
            continue
        jit, dtype, steps, keras_bn, keras_adam = VARIANTS[name]
        generator, discriminator = _networks(shape, latent_dim, width, discriminator_width,
                                             dtype, "keras" if keras_bn else "fused")
        gan = GAN(generator, discriminator, objective="gan", seed=0)
        optimizers = _keras_io_optimizers() if keras_adam else _fused_optimizers()
        gan.compile(jit_compile=jit, steps_per_execution=steps, **optimizers)
        data = make_dataset(images, batch_size=batch_size, shuffle=True, seed=0,
                            drop_remainder=True, autotune=False)
        variants[name] = (gan, data)
    if "CLI default (50 clusters)" in names:
        # The `tfunsup gan` default: cluster-conditioned (50 k-means clusters, a
        # projection discriminator) with the generator's weight average; more
        # work per step than the unconditional networks the reference trains.
        pseudo_labels = kmeans_pseudo_labels(images, 50, seed=0)
        prior = np.bincount(pseudo_labels) / len(pseudo_labels)
        keras.utils.set_random_seed(0)
        gan = GAN(build_generator(shape, latent_dim, width, cluster_prior=prior),
                  build_discriminator(shape, discriminator_width, n_clusters=len(prior)),
                  objective="gan", ema_decay=0.999, seed=0)
        gan.compile(jit_compile=False)  # Keras' Adam, as `tfunsup gan`
        data = make_dataset(images, labels=pseudo_labels, batch_size=batch_size, shuffle=True,
                            seed=0, drop_remainder=True, autotune=False)
        variants["CLI default (50 clusters)"] = (gan, data)
    for name, training in (("keras-io, training mode", True), ("keras-io recipe", None)):
        if name not in names:
            continue
        generator, discriminator = _networks(shape, latent_dim, width, discriminator_width,
                                             batch_norm="keras")  # keras-io: Keras layers
        reference = KerasIODCGAN(discriminator, generator, latent_dim, training=training)
        reference.compile(loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
                          **_keras_io_optimizers())
        data = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=0).batch(
            batch_size, drop_remainder=True)  # keras-io: no prefetch
        variants[name] = (reference, data)
    return variants


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per variant")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--discriminator-width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS) + list(OTHERS),
                        default=None, help="variants to run (default all; the keras-io "
                        "recipe always runs as the reference)")
    parser.add_argument("--examples", type=int, default=None,
                        help="train on the first N MNIST-5k images (default all 5,000)")
    args = parser.parse_args(argv)

    images = load_dataset("mnist-5k").images[:args.examples]
    variants = build_variants(images, args.latent_dim, args.width, args.discriminator_width,
                              args.batch_size, args.variants)
    step_rates = {name: [] for name in variants}
    wall_rates = {name: [] for name in variants}
    for round_ in range(args.rounds + 1):
        for name, (model, data) in variants.items():
            timer = EpochTimer()
            start = time.perf_counter()
            model.fit(data, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
            wall = time.perf_counter() - start
            if round_ == 0:
                continue  # warm-up: tracing and XLA compilation
            step_rates[name].append(timer.timed_batches * args.batch_size / timer.seconds)
            wall_rates[name].append(timer.batches * args.batch_size / wall)
        if round_:
            print(f"round {round_}: " + ", ".join(
                f"{n} {step_rates[n][-1]:.0f} img/s" for n in variants), flush=True)

    reference = statistics.median(step_rates["keras-io recipe"])
    # Each round's rate over the reference's rate of the same round: the
    # variants ran back to back, so a busy machine slows both.
    ratios = {name: [r / ref for r, ref in zip(step_rates[name], step_rates["keras-io recipe"])]
              for name in variants}
    paired = {name: statistics.median(ratios[name]) for name in variants}
    # The spread of the paired ratios: their first and third quartiles.
    quartiles = {name: statistics.quantiles(ratios[name], n=4)[::2] if len(ratios[name]) > 1
                 else ratios[name] * 2 for name in variants}
    print(f"\nGAN train step, MNIST-5k 28x28, batch {args.batch_size}, "
          f"widths {args.width}/{args.discriminator_width}, "
          f"median of {args.rounds} epochs ({os.cpu_count()} CPUs, TF {tf.__version__})")
    print(f"{'variant':<26} {'images/s (steps)':>17} {'images/s (fit wall)':>20} "
          f"{'vs keras-io':>12} {'paired ratio':>13} {'paired IQR':>12}")
    for name in variants:
        steps = statistics.median(step_rates[name])
        wall = statistics.median(wall_rates[name])
        low, high = quartiles[name]
        print(f"{name:<26} {steps:>17.0f} {wall:>20.0f} {steps / reference:>11.2f}x "
              f"{paired[name]:>12.2f}x {low:>5.2f}-{high:.2f}x")


if __name__ == "__main__":
    main()
