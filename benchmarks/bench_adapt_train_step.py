"""Median train-step time of DANN and SHOT with and without XLA (`jit_compile`).

Both variants run in this one process on the same real data (MNIST-5k source,
digits target, common 28x28 frame, batch 64), each for --steps steps after a
warm-up of 5 steps that absorbs tracing and compilation; op determinism is off
here (it disables XLA). Reports medians and the XLA speed-up (no-XLA time /
XLA time; below 1 means XLA is slower) side by side.

    python benchmarks/bench_adapt_train_step.py --steps 60
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfunsup.adapt.dann_model import DANNModel  # noqa: E402
from tfunsup.adapt.network import (  # noqa: E402
    DEFAULT_IMAGE_SPEC, build_domain_discriminator, build_network)
from tfunsup.adapt.preprocessing import to_common_frame  # noqa: E402
from tfunsup.adapt.shot_model import SHOTModel  # noqa: E402
from tfunsup.data import load_dataset  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def datasets(batch_size):
    source, target = load_dataset("mnist-5k"), load_dataset("digits")
    xs = to_common_frame(source.images, DEFAULT_IMAGE_SPEC)
    xt = to_common_frame(target.images, DEFAULT_IMAGE_SPEC)
    ys = np.eye(10, dtype=np.float32)[source.labels]
    options = tf.data.Options()
    options.autotune.enabled = False

    def batches(*arrays):
        ds = tf.data.Dataset.from_tensor_slices(arrays if len(arrays) > 1 else arrays[0])
        return ds.shuffle(len(arrays[0]), seed=0).repeat().batch(batch_size, drop_remainder=True)

    paired = tf.data.Dataset.zip((batches(xs, ys), batches(xt))).with_options(options).prefetch(2)
    pseudo = batches(xt, target.labels).with_options(options).prefetch(2)
    return paired, pseudo


def time_model(kind, jit_compile, data, steps):
    keras.utils.set_random_seed(0)
    network, _ = build_network(None, 10)
    if kind == "dann":
        model = DANNModel(network, build_domain_discriminator(128), total_steps=10 * steps)
        optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
    else:
        model = SHOTModel(network)
        optimizer = keras.optimizers.Adam(1e-4)
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    # Warm-up: tracing and XLA compilation.
    model.fit(data, epochs=1, steps_per_epoch=5, verbose=0, shuffle=False)
    timer = StepTimer()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer],
              shuffle=False)
    return statistics.median(timer.times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    paired, pseudo = datasets(args.batch_size)
    print(f"median train-step time, batch {args.batch_size}, {args.steps} steps, "
          f"{os.cpu_count()} CPUs, TF {tf.__version__}")
    print(f"{'train step':12s} {'jit_compile=False':>18s} {'jit_compile=True':>17s} "
          f"{'XLA speed-up':>13s}")
    for kind, data in (("dann", paired), ("shot", pseudo)):
        plain = time_model(kind, False, data, args.steps)
        xla = time_model(kind, True, data, args.steps)
        print(f"{kind:12s} {plain:15.1f} ms {xla:14.1f} ms {plain / xla:12.2f}x")


if __name__ == "__main__":
    main()
