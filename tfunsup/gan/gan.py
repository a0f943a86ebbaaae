"""The GAN training objective as one Keras model: standard (non-saturating) GAN
or WGAN-GP, with a `train_step` that `fit` runs (optionally XLA-compiled)."""

import random

import keras
import tensorflow as tf

from tfunsup.gan import losses
from tfunsup.gan.augment import check_policy, diff_augment
from tfunsup.gan.conditioning import find_cluster_code, place_in_clusters
from tfunsup.optimizers import FusedAdam
from tfunsup.training import op_determinism_enabled, resolve_jit_compile

OBJECTIVES = ("gan", "wgan-gp")


def default_optimizers(objective, fused=False):
    """`(d_optimizer, g_optimizer)` of the papers' settings.

    DCGAN: Adam(2e-4, beta_1=0.5) for both. WGAN-GP: Adam(1e-4, beta_1=0.0,
    beta_2=0.9) for both (Gulrajani et al. 2017, Algorithm 1).

    Args:
        objective: `"gan"` or `"wgan-gp"`.
        fused: False for `keras.optimizers.Adam`; True for
            `tfunsup.optimizers.FusedAdam` (the same updates, each variable's
            in one fused TensorFlow kernel).
    """
    adam = FusedAdam if fused else keras.optimizers.Adam
    if objective == "wgan-gp":
        return adam(1e-4, beta_1=0.0, beta_2=0.9), adam(1e-4, beta_1=0.0, beta_2=0.9)
    return adam(2e-4, beta_1=0.5), adam(2e-4, beta_1=0.5)


@keras.saving.register_keras_serializable(package="tfunsup")
class GAN(keras.Model):
    """A generator and a discriminator (critic) trained against each other.

    Each `train_step` (one batch of real images) makes `n_critic`
    discriminator updates and one generator update, each with its own
    `tf.GradientTape`. The generator update reuses the images generated for
    the last discriminator update, scored by the updated discriminator (as in
    PyTorch's DCGAN example), which saves a generator forward pass per step:

    - `objective="gan"`: the standard GAN with the non-saturating generator
      loss,

      .. math::
          \\max_D \\; \\mathbb{E}_x[\\log \\sigma(D(x))]
              + \\mathbb{E}_z[\\log(1 - \\sigma(D(G(z))))], \\qquad
          \\max_G \\; \\mathbb{E}_z[\\log \\sigma(D(G(z)))].

    - `objective="wgan-gp"`: the Wasserstein critic with gradient penalty,

      .. math::
          \\min_C \\; \\mathbb{E}_z[C(G(z))] - \\mathbb{E}_x[C(x)]
              + \\lambda \\, \\mathbb{E}_{\\hat x}[(\\|\\nabla_{\\hat x} C(\\hat x)\\|_2 - 1)^2],
          \\qquad \\min_G \\; -\\mathbb{E}_z[C(G(z))],

      with `x_hat = x + u (G(z) - x)`, `u ~ U[0, 1]` per sample, and a
      numerically safe norm (see `tfunsup.gan.losses.safe_norm`).

    With `n_critic > 1` the batch is split into `n_critic` interleaved
    sub-batches (`images[i::n_critic]`), one fresh real sub-batch per critic
    update as in Algorithm 1 of Gulrajani et al.; feed batches of
    `n_critic * batch_size` images.

    Cluster conditioning (Lucic et al. 2019; Liu et al. 2020): with a
    generator built with `cluster_prior` and a projection discriminator
    (`build_discriminator(n_clusters=...)`), feed `(images, pseudo_labels)`
    batches. The images generated for a critic update get the same clusters
    as its real images (through the first latent coordinate, see
    `tfunsup.gan.conditioning`), and the discriminator scores every image
    together with its cluster. The generator still maps plain N(0, I)
    latents to images, drawing clusters with the prior's frequencies.

    Latent vectors are drawn from N(0, I) with stateless random ops seeded by
    `seed`, the generator's step counter and the replica id, so a run repeats
    exactly, resumes from a backup with the same noise stream, and each
    replica of a `tf.distribute.Strategy` gets different latents.

    Build and compile it under the strategy's scope. Losses are divided by the
    number of replicas before the gradients are taken (gradients are summed
    across replicas), while the logged losses are the per-batch means.

    Args:
        generator: `keras.Model` from latents `(batch, latent_dim)` to images
            `(batch, height, width, channels)` in [0, 1], e.g.
            `build_generator`.
        discriminator: `keras.Model` from images to `(batch, 1)` logits or
            critic scores, e.g. `build_discriminator`. No batch norm for
            WGAN-GP (the penalty is per sample). For a cluster-conditioned
            generator, a model of `[images, labels]` with as many clusters.
        objective: `"gan"` or `"wgan-gp"`.
        n_critic: int >= 1. Discriminator updates per generator update;
            default 1 for `"gan"`, 5 for `"wgan-gp"`.
        gp_weight: float >= 0. Gradient-penalty weight lambda (WGAN-GP only).
        augment: None, or DiffAugment policies applied to every
            discriminator input, real and generated (`"translation"`,
            `"cutout"`, `"translation,cutout"`; Zhao et al. 2020), which keeps
            the discriminator from memorising a small training set.
        ema_decay: float in [0, 1), or None. Keep an exponential moving
            average of the generator's weights, updated after every generator
            step (decay `min(ema_decay, (1 + t) / (10 + t))` at step `t`, the
            warm-up of `tf.train.ExponentialMovingAverage`), for `sampler()`,
            `generate` and export.
        seed: int seed of the latent and interpolation noise; None picks one.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    gan = GAN(build_generator((28, 28, 1), 64), build_discriminator((28, 28, 1)))
    gan.compile()
    gan.fit(make_dataset(images, batch_size=64, shuffle=True), epochs=10)
    samples = gan.generate(16)
    ```

    Reference:
        Goodfellow et al. Generative Adversarial Nets. NeurIPS 2014.
        Radford, Metz, Chintala. Unsupervised Representation Learning with
        Deep Convolutional Generative Adversarial Networks. ICLR 2016.
        Gulrajani et al. Improved Training of Wasserstein GANs. NeurIPS 2017.
    """

    def __init__(self, generator, discriminator, objective="gan", n_critic=None,
                 gp_weight=10.0, ema_decay=None, augment=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.augment = ",".join(check_policy(augment)) or None
        self._policy = check_policy(augment)
        if objective not in OBJECTIVES:
            raise ValueError(
                f"Expected objective in {OBJECTIVES}. Received: objective={objective!r}")
        if n_critic is None:
            n_critic = 5 if objective == "wgan-gp" else 1
        if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"Expected n_critic >= 1. Received: n_critic={n_critic!r}")
        if gp_weight < 0:
            raise ValueError(f"Expected gp_weight >= 0. Received: gp_weight={gp_weight}")
        if ema_decay is not None and not 0.0 <= ema_decay < 1.0:
            raise ValueError(
                f"Expected ema_decay in [0, 1) or None. Received: ema_decay={ema_decay}")
        if len(generator.inputs) != 1 or len(generator.inputs[0].shape) != 2:
            raise ValueError(
                "Expected a generator with one input of shape (batch, latent_dim). "
                f"Received inputs: {[tuple(i.shape) for i in generator.inputs]}")
        cluster_code = find_cluster_code(generator)
        self.cluster_prior = None if cluster_code is None else cluster_code.cluster_prior
        if (cluster_code is not None) != (len(discriminator.inputs) == 2):
            raise ValueError(
                "Expected a cluster-conditioned generator (cluster_prior) together with a "
                "discriminator of [images, labels] (n_clusters), or neither. Received a "
                f"generator {'with' if cluster_code else 'without'} clusters and a "
                f"discriminator with {len(discriminator.inputs)} input(s).")
        if cluster_code is not None:
            embedding = [layer for layer in discriminator.layers
                         if isinstance(layer, keras.layers.Embedding)]
            if embedding and embedding[0].input_dim != cluster_code.n_clusters:
                raise ValueError(
                    f"The generator has {cluster_code.n_clusters} clusters but the "
                    f"discriminator embeds {embedding[0].input_dim}.")
        image_shape = tuple(generator.outputs[0].shape[1:])
        critic_shape = tuple(discriminator.inputs[0].shape[1:])
        if image_shape != critic_shape:
            raise ValueError(
                f"The generator makes images of shape {image_shape} but the "
                f"discriminator takes {critic_shape}.")
        self.generator = generator
        self.discriminator = discriminator
        self._separate_batches = any(
            isinstance(layer, keras.layers.BatchNormalization) for layer in discriminator.layers)
        self.objective = objective
        self.n_critic = n_critic
        self.gp_weight = float(gp_weight)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = int(seed) if seed is not None else random.randrange(2**31)
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.image_shape = image_shape
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.gp_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.d_optimizer = None
        self.g_optimizer = None
        self.ema_variables = []
        if self.ema_decay is not None:
            # One copy of every generator weight (batch-norm statistics
            # included), identical on all replicas: the first one's is kept.
            for i, variable in enumerate(generator.weights):
                average = self.add_weight(
                    shape=variable.shape, dtype=variable.dtype, initializer="zeros",
                    trainable=False, aggregation="only_first_replica", name=f"ema_{i}")
                average.assign(variable)
                self.ema_variables.append(average)
        self.built = True

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        if self.objective == "wgan-gp":
            trackers.append(self.gp_tracker)
        return trackers

    def compile(self, d_optimizer=None, g_optimizer=None, jit_compile="auto", **kwargs):
        """Sets the two optimizers and builds them (call under the strategy scope).

        Args:
            d_optimizer: `keras.optimizers.Optimizer` of the discriminator;
                default `default_optimizers(objective)[0]`.
            g_optimizer: `keras.optimizers.Optimizer` of the generator.
            jit_compile: `True`, `False` or `"auto"`, resolved by
                `tfunsup.training.resolve_jit_compile`: `"auto"` is XLA on a
                single GPU/TPU and off on CPUs (where the GAN step measured
                about 3x slower with XLA, `benchmarks/bench_gan.py`); never
                with op determinism on, nor under a multi-replica strategy
                on CPU devices (a warning if `True`).
            **kwargs: passed to `keras.Model.compile` (e.g. `steps_per_execution`).
        """
        jit_compile = resolve_jit_compile(jit_compile, tf.distribute.get_strategy(),
                                          deterministic=op_determinism_enabled())
        super().compile(jit_compile=jit_compile, **kwargs)
        default_d, default_g = (None, None)
        if d_optimizer is None or g_optimizer is None:
            default_d, default_g = default_optimizers(self.objective)
        self.d_optimizer = d_optimizer if d_optimizer is not None else default_d
        self.g_optimizer = g_optimizer if g_optimizer is not None else default_g
        if self.d_optimizer is self.g_optimizer:
            raise ValueError(
                "Pass two different optimizer objects for d_optimizer and g_optimizer.")
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def call(self, latents, training=False):
        """Images `(batch, height, width, channels)` from latents `(batch, latent_dim)`."""
        return self.generator(latents, training=training)

    def sampler(self):
        """The generator to sample from and export.

        With `ema_decay`, a new copy of the generator holding the exponential
        moving average of its weights over the training steps (Yazıcı et al.
        2019: averaged weights give better samples than the last iterate);
        otherwise `generator` itself.
        """
        if self.ema_decay is None:
            return self.generator
        average = keras.models.clone_model(self.generator)
        average.set_weights([variable.numpy() for variable in self.ema_variables])
        return average

    def generate(self, n, seed=0, batch_size=500):
        """`n` images of `sampler()` (inference mode) from N(0, I) latents.

        Args:
            n: int >= 1.
            seed: int seed of the latents.
            batch_size: images generated per call.

        Returns:
            float32 numpy array `(n, height, width, channels)` in [0, 1].
        """
        latents = sample_latents(n, self.latent_dim, seed)
        return self.sampler().predict(latents, batch_size=batch_size, verbose=0)

    # -- train step ---------------------------------------------------------

    def _seed(self, salt):
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group if context is not None else 0
        step = tf.cast(self.g_optimizer.iterations, tf.int64)
        return tf.stack([tf.constant(self.seed, tf.int64) * 1024 + salt,
                         step * 4096 + tf.cast(replica, tf.int64)])

    def _latents(self, batch_size, salt):
        return tf.random.stateless_normal((batch_size, self.latent_dim), self._seed(salt))

    def _fake_latents(self, labels, batch_size, salt):
        """N(0, I) latents; with clusters, placed in the clusters `labels`."""
        latents = self._latents(batch_size, salt)
        if self.cluster_prior is None:
            return latents
        uniform = tf.random.stateless_uniform((batch_size,), self._seed(salt + 256))
        return place_in_clusters(latents, labels, self.cluster_prior, uniform)

    def _discriminate(self, images, labels, salt):
        """The discriminator's training-mode scores of (augmented) images
        (of clusters `labels` when conditioned; else `labels` is None)."""
        if self._policy:
            images = diff_augment(images, self._policy, self._seed(salt + 2048))
        if labels is None:
            return self.discriminator(images, training=True)
        return self.discriminator([images, labels], training=True)

    def _critic_update(self, real, fake, labels, salt):
        """One discriminator / critic update on `real` and `fake` images (both
        of clusters `labels`, or None); returns (loss, penalty). `fake` is
        treated as a constant here."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        batch = tf.shape(real)[0]
        fake = tf.stop_gradient(fake)
        if self.objective == "gan":
            with tf.GradientTape() as tape:
                if self._separate_batches:
                    # Real and generated images in separate calls, so that a
                    # discriminator with batch norm normalises each on its own
                    # statistics (Radford et al. 2016; PyTorch's DCGAN example).
                    real_scores = self._discriminate(real, labels, salt)
                    fake_scores = self._discriminate(fake, labels, salt + 64)
                else:  # one call on both: fewer, larger kernels
                    scores = self._discriminate(tf.concat([real, fake], 0),
                                                _repeat(labels, 2), salt)
                    real_scores, fake_scores = scores[:batch], scores[batch:]
                loss = losses.discriminator_loss(real_scores, fake_scores)
                # scale_loss: the loss scaling of mixed_float16, else identity.
                scaled = self.d_optimizer.scale_loss(loss / replicas)
            penalty = tf.constant(0.0)
        else:
            alpha = tf.random.stateless_uniform((batch,), self._seed(salt + 512))
            interpolates = losses.interpolate(real, fake, alpha)
            with tf.GradientTape() as tape:
                with tf.GradientTape() as penalty_tape:
                    penalty_tape.watch(interpolates)
                    scores = self._discriminate(tf.concat([real, fake, interpolates], 0),
                                                _repeat(labels, 3), salt)
                    interpolate_scores = tf.reduce_sum(scores[2 * batch:])
                gradients = penalty_tape.gradient(interpolate_scores, interpolates)
                penalty = losses.gradient_penalty(gradients)
                loss = losses.wasserstein_critic_loss(scores[:batch], scores[batch:2 * batch])
                scaled = self.d_optimizer.scale_loss((loss + self.gp_weight * penalty) / replicas)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss, penalty

    def train_step(self, data):
        real, labels = data, None
        if isinstance(data, (tuple, list)):
            real, labels = data[0], (data[1] if len(data) > 1 else None)
        real = tf.cast(real, tf.float32)
        if self.cluster_prior is None:
            labels = None  # e.g. (images, images) batches
        elif labels is None:
            raise ValueError("A cluster-conditioned GAN trains on (images, pseudo_labels) "
                             "batches; received images only.")
        else:
            labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        for i in range(self.n_critic - 1):
            chunk = real[i::self.n_critic]
            chunk_labels = None if labels is None else labels[i::self.n_critic]
            fake = self.generator(
                self._fake_latents(chunk_labels, tf.shape(chunk)[0], i), training=True)
            self._critic_update(chunk, fake, chunk_labels, salt=i)
        # The last critic update's images are generated on the generator's
        # tape and reused for the generator update, scored by the updated
        # critic (as PyTorch's DCGAN example does): one generator forward
        # pass per step instead of two.
        last = self.n_critic - 1
        chunk = real[last::self.n_critic] if self.n_critic > 1 else real
        chunk_labels = labels
        if labels is not None and self.n_critic > 1:
            chunk_labels = labels[last::self.n_critic]
        g_tape = tf.GradientTape()
        with g_tape:
            fake = self.generator(
                self._fake_latents(chunk_labels, tf.shape(chunk)[0], last), training=True)
            with g_tape.stop_recording():
                d_loss, penalty = self._critic_update(chunk, fake, chunk_labels, salt=last)
            scores = self._discriminate(fake, chunk_labels, last + 128)
            if self.objective == "gan":
                g_loss = losses.generator_loss(scores)
            else:
                g_loss = losses.wasserstein_generator_loss(scores)
            scaled = self.g_optimizer.scale_loss(g_loss / replicas)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(scaled, variables), variables))
        if self.ema_decay is not None:
            # Warm-up as in `tf.train.ExponentialMovingAverage(num_updates=)`:
            # the decay is min(ema_decay, (1 + t) / (10 + t)) at generator step
            # t, so the average does not hold on to the initial weights.
            step = tf.cast(self.g_optimizer.iterations, tf.float32)
            decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
            for average, variable in zip(self.ema_variables, self.generator.weights):
                average.assign(decay * average + (1.0 - decay) * tf.cast(variable, average.dtype))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        if self.objective == "wgan-gp":
            self.gp_tracker.update_state(penalty)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update({
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "objective": self.objective,
            "n_critic": self.n_critic,
            "gp_weight": self.gp_weight,
            "ema_decay": self.ema_decay,
            "augment": self.augment,
            "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


def _repeat(labels, times):
    return None if labels is None else tf.concat([labels] * times, 0)


def sample_latents(n, latent_dim, seed=0):
    """`n` latent vectors from N(0, I), float32 `(n, latent_dim)`, repeatable by `seed`."""
    import numpy as np

    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")
