"""The waveform format an audio network expects."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class AudioSpec:
    """Length and sample rate of the waveforms an audio network takes.

    Waveforms always enter tfunsup as mono float32 in [-1, 1]; the network
    computes its own front end (e.g. a log-mel spectrogram). `AudioSpec`
    only says how to bring recordings to its input: `n_samples` samples at
    `sample_rate` Hz (centred, zero-padded or cropped; see
    `tfunsup.data.audio.fix_length`).

    Args:
        n_samples: int >= 1, samples per waveform.
        sample_rate: int >= 1, Hz.
    """

    n_samples: int
    sample_rate: int

    def __post_init__(self):
        for name in ("n_samples", "sample_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Expected an integer {name} >= 1. Received: {name}={value!r}")

    @property
    def shape(self):
        """`(n_samples,)`: one waveform's shape."""
        return (self.n_samples,)

    @property
    def duration(self):
        """float, seconds."""
        return self.n_samples / self.sample_rate
