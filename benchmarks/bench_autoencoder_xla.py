"""Train-step throughput of the conv autoencoder with and without XLA (`jit_compile`).

The `tfunsup autoencoder` default model (conv encoder 32-64 filters,
latent_dim 10, denoising noise 0.2) is trained on MNIST-5k at batch 128,
once with `jit_compile=False` and once with `jit_compile=True`, in this one
process. After a warm-up epoch each (tracing, XLA compilation), the two
variants alternate epoch by epoch, so machine load hits both alike; each
epoch's throughput is images / epoch wall time. Reports the median images/s
of each, the median of the per-round on/off ratios (paired: both ran back to
back) and what `jit_compile="auto"` (the library default, decided by
`tfunsup.training.resolve_jit_compile` with the autoencoder's CPU rule)
resolves to here. Op determinism stays off (it disables XLA).

    python benchmarks/bench_autoencoder_xla.py --epochs 5
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfunsup.autoencoders import Autoencoder, build_conv_decoder, build_conv_encoder  # noqa: E402
from tfunsup.data import load_dataset, make_dataset  # noqa: E402
from tfunsup.training import resolve_jit_compile  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def build(jit_compile, seed):
    keras.utils.set_random_seed(seed)
    encoder = build_conv_encoder((28, 28, 1), 10, (32, 64))
    decoder = build_conv_decoder(10, (28, 28, 1), (64, 32))
    model = Autoencoder(encoder, decoder, noise_stddev=0.2, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per variant")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    images = load_dataset("mnist-5k").images
    images = images[np.random.default_rng(args.seed).permutation(len(images))]
    dataset = make_dataset(images, batch_size=args.batch_size, shuffle=True, seed=args.seed,
                           autotune=False)
    models = {"off": build(False, args.seed), "on": build(True, args.seed)}
    timer = EpochTimer()
    for model in models.values():  # warm-up: tracing and compilation
        model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    throughput = {name: [] for name in models}
    for _ in range(args.epochs):
        for name, model in models.items():
            model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
            throughput[name].append(len(images) / timer.seconds)

    medians = {name: statistics.median(values) for name, values in throughput.items()}
    auto = resolve_jit_compile("auto")  # the AutoencoderEstimator's rule (cpu_xla=False)
    ratios = [on / off for on, off in zip(throughput["on"], throughput["off"])]
    print(f"conv autoencoder, MNIST-5k ({len(images)} images), batch {args.batch_size}, "
          f"median of {args.epochs} epochs each (alternating)")
    print(f"{'jit_compile':<12} {'images/s':>10}   per epoch")
    for name in ("off", "on"):
        print(f"{name:<12} {medians[name]:>10.0f}   "
              + " ".join(f"{v:.0f}" for v in throughput[name]))
    faster = "off" if medians["off"] >= medians["on"] else "on"
    verdict = "the faster" if (auto is True) == (faster == "on") else "NOT the faster"
    print(f"XLA on / off throughput ratio: {medians['on'] / medians['off']:.2f} "
          f"(paired per round: median {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f})")
    print(f'jit_compile="auto" resolves to {auto} here; the faster setting is '
          f'"{faster}" -> the default is {verdict}')


if __name__ == "__main__":
    main()
