"""From a user's photo (and optionally a person box) to the network's square crop.

Users have no MPII centre/scale annotations, so a person is described by a box
``(x1, y1, x2, y2)`` in image pixels (the convention of ``hg_keras.data.transforms``: x right,
y down, pixel centres at integers). The box becomes an MPII-style centre and scale::

    center = ((x1 + x2) / 2, (y1 + y2) / 2)
    scale  = max(x2 - x1, y2 - y1) * 1.25 / 200

i.e. the crop is a square of side ``1.25 * max(w, h)`` around the box centre, the same
margin as the MPII annotations (``scale = 1.25 * person height / 200``). Without a box the
whole image is the box: ``(-0.5, -0.5, W - 0.5, H - 0.5)`` (the outer edges of the corner
pixels). Every function that accepts a box treats four NaNs or four ``-1`` values the same
way, so a batch may mix boxed and whole-image requests.

The crop itself is ``transforms.crop_matrix`` + ``transforms.warp_image``, the matrices the
training pipeline and the decoder use.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from hg_keras.data.transforms import BOX_PIXELS_PER_SCALE, crop_matrix, warp_image

#: The crop side is this many times the longer side of the person box (MPII's margin).
BOX_SCALE_PADDING = 1.25

#: A box of four of these values (or four NaNs) means "the whole image".
WHOLE_IMAGE_SENTINEL = -1.0


def whole_image_box_np(height: int, width: int) -> np.ndarray:
    """The box covering a whole ``height`` x ``width`` image: (4,) float64."""
    return np.array([-0.5, -0.5, width - 0.5, height - 0.5], np.float64)


def box_center_scale_np(box) -> tuple[np.ndarray, float]:
    """MPII centre and scale of a person box (NumPy).

    Args:
        box: (4,) ``x1, y1, x2, y2`` in image pixels.

    Returns:
        ``(center, scale)``: (2,) float64 ``(x, y)`` and a float, the crop side / 200.

    Example:
        >>> box_center_scale_np([0, 0, 100, 200])
        (array([ 50., 100.]), 1.25)
    """
    x1, y1, x2, y2 = np.asarray(box, np.float64)
    center = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0])
    scale = max(x2 - x1, y2 - y1) * BOX_SCALE_PADDING / BOX_PIXELS_PER_SCALE
    return center, float(scale)


def box_center_scale(box):
    """TF twin of ``box_center_scale_np``: (4,) float32 box -> ((2,) center, scalar scale)."""
    box = tf.cast(box, tf.float32)
    center = tf.stack([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])
    side = tf.maximum(box[2] - box[0], box[3] - box[1])
    return center, side * (BOX_SCALE_PADDING / BOX_PIXELS_PER_SCALE)


def resolve_box(box, height, width):
    """Replace the whole-image sentinel by the image box and check that the box is usable.

    Args:
        box: (4,) float32 ``x1, y1, x2, y2``; four NaNs or four -1 mean the whole image.
        height: scalar int, image height in pixels.
        width: scalar int, image width in pixels.

    Returns:
        (4,) float32 box in image pixels.

    Raises:
        tf.errors.InvalidArgumentError (when run): the box has NaN/inf values, zero or
        negative size, or does not overlap the image.
    """
    box = tf.cast(tf.reshape(box, (4,)), tf.float32)
    height = tf.cast(height, tf.float32)
    width = tf.cast(width, tf.float32)
    whole = tf.stack([-0.5, -0.5, width - 0.5, height - 0.5])
    is_whole = tf.reduce_all(tf.math.is_nan(box)) | tf.reduce_all(
        tf.equal(box, WHOLE_IMAGE_SENTINEL)
    )
    box = tf.where(is_whole, whole, box)
    finite = tf.reduce_all(tf.math.is_finite(box))
    positive = (box[2] > box[0]) & (box[3] > box[1])
    overlaps = (box[0] < width - 0.5) & (box[2] > -0.5) & (box[1] < height - 0.5) & (
        box[3] > -0.5
    )
    checks = [
        tf.debugging.Assert(
            finite,
            ["box: values must be finite (or all NaN / all -1 for the whole image); got", box],
        ),
        tf.debugging.Assert(
            positive, ["box: need x2 > x1 and y2 > y1 (x1, y1, x2, y2 in pixels); got", box]
        ),
        tf.debugging.Assert(
            overlaps,
            ["box: lies outside the image; box (x1, y1, x2, y2) =", box,
             "image width, height =", width, height],
            summarize=4,
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(box)


def decode_image_bytes(image_bytes):
    """Decode one encoded JPEG / PNG / GIF / BMP image to float32 RGB in [0, 1].

    Grey images are replicated to three channels, alpha is dropped, 16-bit PNGs keep their
    precision, an animated GIF gives its first frame. EXIF orientation is not applied.

    Args:
        image_bytes: scalar string tensor.

    Returns:
        (H, W, 3) float32 tensor.

    Raises:
        tf.errors.InvalidArgumentError (when run): the bytes are not a decodable image.
    """
    image = tf.io.decode_image(image_bytes, channels=3, dtype=tf.float32, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def crop_person(image, box, input_size: int, heatmap_size: int):
    """Crop the person in ``box`` to the network input and give the way back from heatmaps.

    Args:
        image: (H, W, 3) float32 RGB in [0, 1].
        box: (4,) float32 ``x1, y1, x2, y2``; all NaN or all -1 for the whole image.
        input_size: side of the square network input (the model's input size).
        heatmap_size: side of the model's heatmaps (``input_size // 4``).

    Returns:
        crop: (input_size, input_size, 3) float32, zeros outside the image.
        from_heatmap: (3, 3) float32 matrix mapping heatmap pixels to image pixels.
        box: (4,) float32, the box actually used.

    Example:
        >>> crop, from_heatmap, box = crop_person(image, [-1.0] * 4, 256, 64)
    """
    shape = tf.shape(image)
    box = resolve_box(box, shape[0], shape[1])
    center, scale = box_center_scale(box)
    to_crop = crop_matrix(center, scale, (input_size, input_size))
    crop = warp_image(image, to_crop, (input_size, input_size))
    from_heatmap = tf.linalg.inv(crop_matrix(center, scale, (heatmap_size, heatmap_size)))
    return crop, from_heatmap, box


def to_rgb_float_np(image, bgr: bool = False) -> np.ndarray:
    """Any image array (grey, grey + alpha, RGB, RGBA; uint8, uint16 or float) to RGB float32.

    Args:
        image: (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4) array; integers are scaled
            by their dtype's maximum, floats are taken as [0, 1].
        bgr: the colour channels are in OpenCV's BGR order.

    Returns:
        (H, W, 3) float32 RGB in [0, 1]; alpha is dropped.

    Example:
        >>> to_rgb_float_np(np.full((2, 3), 255, np.uint8)).shape
        (2, 3, 3)
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4) or 0 in image.shape[:2]:
        raise ValueError(
            f"image has shape {image.shape}; expected (H, W) or (H, W, C) with C in 1..4"
        )
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / float(np.iinfo(image.dtype).max)
    else:
        image = np.clip(image.astype(np.float32), 0.0, 1.0)
    channels = image.shape[2]
    if channels in (1, 2):
        image = np.repeat(image[:, :, :1], 3, axis=2)
    else:
        image = image[:, :, :3]
        if bgr:
            image = image[:, :, ::-1]
    return np.ascontiguousarray(image)
