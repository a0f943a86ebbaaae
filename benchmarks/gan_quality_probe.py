"""Classifier Inception Score of a GAN recipe during training (development probe).

Trains `tfunsup.gan.train_gan` on MNIST-5k with the keyword arguments given as
a Python dict literal and prints, every `--every` epochs, the elapsed time and
the IS of 2,000 samples (seed 1) under our MNIST-5k classifier: from the
weight-averaged generator (`ema`), the last weights in inference mode (`raw`)
and in training mode (batch statistics):

    python benchmarks/gan_quality_probe.py \\
        "dict(objective='gan', width=32, discriminator_width=32, batch_size=32, \\
              ema_decay=0.999, epochs=60)" --every 5

`n_clusters=K` in the recipe trains on `kmeans_pseudo_labels(images, K)`.

2,000 samples in 10 splits score a little lower than the CLI's 5,000.
"""

import argparse
import ast
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfunsup.data import load_dataset  # noqa: E402
from tfunsup.gan import kmeans_pseudo_labels, sample_latents, train_gan  # noqa: E402
from tfunsup.metrics.generative import classifier_inception_score, load_classifier  # noqa: E402


class InceptionScoreProbe(keras.callbacks.Callback):
    def __init__(self, classifier, every, n=2000):
        super().__init__()
        self.classifier, self.every, self.n = classifier, every, n
        self.start = time.perf_counter()

    def _score(self, images):
        return classifier_inception_score(images, self.classifier)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        latents = sample_latents(self.n, self.model.latent_dim, seed=1)
        ema = self._score(self.model.sampler().predict(latents, batch_size=500, verbose=0))
        raw = self._score(self.model.generator.predict(latents, batch_size=500, verbose=0))
        train = self._score(np.concatenate([
            self.model.generator(latents[i:i + 500], training=True).numpy()
            for i in range(0, self.n, 500)]))
        print(f"epoch {epoch + 1} {time.perf_counter() - self.start:.0f}s "
              f"IS ema {ema['inception_score']:.2f} raw {raw['inception_score']:.2f} "
              f"train-mode {train['inception_score']:.2f} "
              f"min class share {min(ema['class_fractions']):.3f} "
              f"d_loss {logs['d_loss']:.3f} g_loss {logs['g_loss']:.3f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="train_gan keyword arguments as dict(...) or {...}")
    parser.add_argument("--every", type=int, default=5)
    args = parser.parse_args(argv)
    tree = ast.parse(args.recipe, mode="eval").body
    if isinstance(tree, ast.Call):  # dict(a=1, ...)
        recipe = {k.arg: ast.literal_eval(k.value) for k in tree.keywords}
    else:
        recipe = ast.literal_eval(tree)
    images = load_dataset("mnist-5k").images
    n_clusters = recipe.pop("n_clusters", None)
    if n_clusters:
        recipe["pseudo_labels"] = kmeans_pseudo_labels(images, n_clusters)
    from tfunsup.source import ensure_source_classifier

    probe = InceptionScoreProbe(load_classifier(ensure_source_classifier()), args.every)
    train_gan(images, seed=recipe.pop("seed", 0), callbacks=[probe], **recipe)


if __name__ == "__main__":
    main()
