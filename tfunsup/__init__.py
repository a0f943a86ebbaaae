"""tfunsup: transfer-learning-based unsupervised learning with TensorFlow and Keras 3.

Take a pretrained model (a TF Hub handle, a Keras Application or your own
SavedModel) and learn from unlabeled data with it.
"""

__version__ = "0.1.0"
