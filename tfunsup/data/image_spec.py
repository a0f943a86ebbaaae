"""The image format a backbone expects."""

import dataclasses
import json
from pathlib import Path

IMAGE_SPEC_FILENAME = "image_spec.json"


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """Size, channels and framing of the images a backbone expects.

    Images always enter tfunsup as float32 in [0, 1]; a backbone does its own
    value preprocessing. `ImageSpec` only says how to bring images to its
    input: resize to `content_fraction` of `(height, width)`, then zero-pad to
    `(height, width)` (MNIST frames a 20x20 digit in a 28x28 image, so its
    models have `content_fraction = 20 / 28`). ImageNet backbones set
    `crop_to_aspect_ratio`: the largest centred window with the input's
    aspect ratio is resized to `(height, width)` (Keras'
    `Resizing(crop_to_aspect_ratio=True)`), as in their evaluation protocol,
    so photos keep their proportions.

    Args:
        height: int or None. Input height; None accepts any size.
        width: int or None. Input width; None accepts any size.
        channels: 1 or 3.
        content_fraction: float in (0, 1]. Share of the input taken by the
            resized image; the rest is zero padding.
        crop_to_aspect_ratio: bool. Centre-crop to the input's aspect ratio
            before resizing, instead of stretching.
    """

    height: int | None
    width: int | None
    channels: int = 3
    content_fraction: float = 1.0
    crop_to_aspect_ratio: bool = False

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise ValueError(
                f"Expected channels 1 or 3. Received: channels={self.channels}"
            )
        if self.crop_to_aspect_ratio and self.content_fraction != 1.0:
            raise ValueError(
                "Expected content_fraction 1.0 with crop_to_aspect_ratio. "
                f"Received: content_fraction={self.content_fraction}")
        if not 0.0 < self.content_fraction <= 1.0:
            raise ValueError(
                "Expected content_fraction in (0, 1]. "
                f"Received: content_fraction={self.content_fraction}"
            )
        for name in ("height", "width"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"Expected {name} >= 1. Received: {name}={value}")

    @property
    def shape(self):
        """`(height, width, channels)`."""
        return (self.height, self.width, self.channels)

    def save(self, directory):
        """Writes the spec as `image_spec.json` into `directory`."""
        path = Path(directory) / IMAGE_SPEC_FILENAME
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2))

    @classmethod
    def load(cls, directory):
        """Reads `image_spec.json` from `directory`; None if there is none."""
        path = Path(directory) / IMAGE_SPEC_FILENAME
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))
