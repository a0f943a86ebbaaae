"""How high can the classifier Inception Score of MNIST-5k samples go?

Our digit classifier (`tfunsup.source`, used by `tfunsup gan`) is trained on
all 5,000 MNIST-5k images, so real MNIST-5k digits score it on its training
set. This script trains the same recipe on 4,000 of them and scores the
other 1,000 (digits that classifier never saw, like a GAN's samples), next to
1,000 of its training digits:

    python benchmarks/is_ceiling.py

IS over 5 splits of 200 images (the number of images per split lowers IS a
little; compare like with like).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tfunsup.data import load_dataset  # noqa: E402
from tfunsup.metrics.generative import inception_score  # noqa: E402
from tfunsup.source.source_model import train_source_model  # noqa: E402


def main():
    data = load_dataset("mnist-5k")
    order = np.random.default_rng(0).permutation(len(data))
    train, held_out = order[:4000], order[4000:]
    classifier, _ = train_source_model(data.images[train], data.labels[train], seed=0)
    print(f"{'images':<22}{'accuracy':>9}{'IS':>7}")
    for name, index in (("training digits", train[:1000]), ("held-out digits", held_out)):
        probabilities = classifier.predict(data.images[index], verbose=0)
        accuracy = np.mean(probabilities.argmax(axis=1) == data.labels[index])
        print(f"{name:<22}{accuracy:>9.3f}{inception_score(probabilities, 5)[0]:>7.2f}")


if __name__ == "__main__":
    main()
