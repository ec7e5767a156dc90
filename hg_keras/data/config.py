"""Configuration of the input pipeline (one plain dataclass)."""

from __future__ import annotations

from dataclasses import dataclass

ON_BAD_IMAGE_CHOICES = ("raise", "skip")


@dataclass
class PipelineConfig:
    """How crops, augmentations and heatmap targets are made.

    Defaults follow the paper (section 3.4): 256x256 input, 64x64 heatmaps with a Gaussian of
    sigma 1 px, rotation uniform in +-30 degrees, scale uniform in 0.75-1.25, no translation,
    horizontal flip with probability 0.5.

    Attributes:
        input_size: side of the square network input in pixels; heatmaps are ``input_size // 4``.
        heatmap_sigma_px: standard deviation of the target Gaussian, in heatmap pixels.
        rotation_deg: rotations are drawn uniformly from ``[-rotation_deg, rotation_deg]``.
        rotation_prob: probability of rotating a sample at all (the Torch7 / PyTorch reference
            code rotates 60% of the samples; the paper's default is 1.0).
        scale_range: the person box side is multiplied by a factor drawn uniformly from this
            range (a factor above 1 shows more context, so the person looks smaller).
        flip_prob: probability of a horizontal flip (joints are swapped left <-> right).
        color_jitter: each RGB channel is multiplied by a factor drawn uniformly from
            ``[1 - color_jitter, 1 + color_jitter]`` and clipped to [0, 1]; 0 turns it off
            (the PyTorch reference uses 0.2).
        flip_test: evaluation only: also emit the horizontally mirrored crop ``image_flipped``.
        cache: keep the decoded image regions (reduced to the resolution the crops need) in
            memory after the first pass; for datasets that fit in RAM.
        on_bad_image: ``"raise"``: stop with an error naming the file when it is missing,
            not an image or cut short (checked before decoding; a file that passes those
            checks yet fails inside the decoder stops with the decoder's own error).
            ``"skip"``: drop samples whose file fails to read or decode for any reason,
            print a warning naming the file and count it (``make_dataset``'s
            ``skipped_images``); a little slower, as each file is decoded in isolation.
        reduced_decode: decode large JPEGs at 1/2, 1/4 or 1/8 size and only the region around
            the person when the crop does not need full resolution.

    Example:
        >>> config = PipelineConfig(input_size=128, heatmap_sigma_px=2.0)
        >>> config.output_size
        32
    """

    input_size: int = 256
    heatmap_sigma_px: float = 1.0
    rotation_deg: float = 30.0
    rotation_prob: float = 1.0
    scale_range: tuple = (0.75, 1.25)
    flip_prob: float = 0.5
    color_jitter: float = 0.0
    flip_test: bool = False
    cache: bool = False
    on_bad_image: str = "raise"
    reduced_decode: bool = True

    def __post_init__(self):
        if self.input_size < 4 or self.input_size % 4:
            raise ValueError(
                f"PipelineConfig.input_size is {self.input_size}; it must be a positive "
                "multiple of 4 (heatmaps are input_size // 4)"
            )
        if self.heatmap_sigma_px <= 0:
            raise ValueError(
                f"PipelineConfig.heatmap_sigma_px is {self.heatmap_sigma_px}; it must be > 0"
            )
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(
                f"PipelineConfig.scale_range is {self.scale_range}; need 0 < low <= high"
            )
        self.scale_range = (float(low), float(high))
        for name in ("rotation_prob", "flip_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"PipelineConfig.{name} is {value}; it must be in [0, 1]"
                )
        if not 0.0 <= self.color_jitter < 1.0:
            raise ValueError(
                f"PipelineConfig.color_jitter is {self.color_jitter}; it must be in [0, 1)"
            )
        if self.rotation_deg < 0:
            raise ValueError(
                f"PipelineConfig.rotation_deg is {self.rotation_deg}; must be >= 0"
            )
        if self.on_bad_image not in ON_BAD_IMAGE_CHOICES:
            raise ValueError(
                f"PipelineConfig.on_bad_image is {self.on_bad_image!r}; "
                f"choose one of {ON_BAD_IMAGE_CHOICES}"
            )

    @property
    def output_size(self) -> int:
        """Side of the heatmaps in pixels (``input_size // 4``)."""
        return self.input_size // 4
