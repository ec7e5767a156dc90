"""Reading image files into the region around a person, decoding large JPEGs at reduced size.

Everything here is TensorFlow ops, so it runs inside ``tf.data`` without Python.

A decoded *region* comes with a ``region_to_image`` matrix that maps region pixel coordinates
to original image pixel coordinates (``hg_keras.data.transforms`` convention: pixel centres at
integers). Composing ``crop_matrix(...) @ region_to_image`` warps the region exactly as the
full image would have been warped, so reduced decoding never changes the geometry.
"""

from __future__ import annotations

import math

import tensorflow as tf

# JPEG can be decoded at 1/r of its size by libjpeg's DCT scaling, for these r.
JPEG_REDUCTION_RATIOS = (1, 2, 4, 8)
# Extra image pixels kept around a region so bilinear sampling at its border sees real data.
REGION_MARGIN_PX = 2.0


def region_half_extent_px(box_px, rotation_deg):
    """Half side of the axis-aligned square that holds a rotated crop box.

    Args:
        box_px: scalar float, side of the crop box in image pixels (``200 * scale``).
        rotation_deg: scalar float, rotation of the box (the largest one, for a region that
            must serve several crops); only its magnitude matters.

    Returns:
        scalar float32 tensor, in image pixels, margin included.

    Example:
        >>> round(float(region_half_extent_px(100.0, 0.0)), 3)
        52.0
    """
    theta = tf.minimum(tf.abs(tf.cast(rotation_deg, tf.float32)), 45.0) * (
        math.pi / 180.0
    )
    spread = tf.cos(theta) + tf.sin(theta)  # bounding box of a rotated square, per side
    return 0.5 * tf.cast(box_px, tf.float32) * spread + REGION_MARGIN_PX


def choose_reduction_ratio(max_zoom):
    """Largest JPEG reduction ratio whose resolution still covers the crop's zoom.

    Args:
        max_zoom: scalar float tensor, the largest number of output pixels per image pixel
            any crop of this sample will use.

    Returns:
        (index into ``JPEG_REDUCTION_RATIOS``, ratio) as int32 scalar tensors.
    """
    ratios = tf.constant(JPEG_REDUCTION_RATIOS, tf.float32)
    fits = ratios * tf.cast(max_zoom, tf.float32) <= 1.0 + 1e-6
    index = tf.maximum(tf.reduce_sum(tf.cast(fits, tf.int32)) - 1, 0)
    return index, tf.gather(tf.constant(JPEG_REDUCTION_RATIOS, tf.int32), index)


# How far from the end of a JPEG the end-of-image marker may sit (some writers add trailers).
JPEG_TRAILER_BYTES = 4096


def _contains(bytes_u8, pattern):
    """Whether the uint8 vector ``bytes_u8`` contains the byte string ``pattern``."""
    count = tf.shape(bytes_u8)[0] - len(pattern) + 1
    found = tf.ones(tf.maximum(count, 0), tf.bool)
    for offset, byte in enumerate(pattern):
        found &= tf.equal(bytes_u8[offset : offset + tf.maximum(count, 0)], byte)
    return tf.reduce_any(found)


def encoded_image_is_complete(contents):
    """Cheap check, before decoding, that a file is an image that was not cut short.

    JPEG: starts with the SOI marker and has the EOI marker (FF D9) within its last
    ``JPEG_TRAILER_BYTES`` bytes (inside the entropy-coded data FF is always followed by 00
    or a restart marker, so FF D9 cannot appear there). PNG: signature and an IEND chunk in
    the last 64 bytes. GIF, BMP, WebP: their signature. Anything else fails.

    Args:
        contents: scalar string tensor, the file's bytes.

    Returns:
        scalar bool tensor.

    Example:
        >>> png = tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8))
        >>> cut = tf.strings.substr(png, 0, 20)
        >>> bool(encoded_image_is_complete(png)), bool(encoded_image_is_complete(cut))
        (True, False)
    """
    head = tf.strings.join([tf.strings.substr(contents, 0, 12), b"\0" * 12])
    length = tf.strings.length(contents)

    def tail(size):
        start = tf.maximum(length - size, 0)
        return tf.io.decode_raw(tf.strings.substr(contents, start, size), tf.uint8)

    def starts(signature, offset=0):
        return tf.equal(tf.strings.substr(head, offset, len(signature)), signature)

    is_jpeg = starts(b"\xff\xd8\xff")
    is_png = starts(b"\x89PNG\r\n\x1a\n")
    other = starts(b"GIF8") | starts(b"BM") | (starts(b"RIFF") & starts(b"WEBP", 8))
    return tf.case(
        [
            (is_jpeg, lambda: _contains(tail(JPEG_TRAILER_BYTES), b"\xff\xd9")),
            (is_png, lambda: _contains(tail(64), b"IEND")),
        ],
        default=lambda: other,
    )


# libjpeg-turbo crops scanlines from an iMCU column boundary (8 / r pixels times the largest
# horizontal sampling factor, at most 4); a window whose left edge sits on one is decoded
# straight into the output, any other is decoded into a buffer and copied row by row.
JPEG_CROP_ALIGNMENT_PX = 32


def _window(center, half_extent, ratio, size_hw, left_alignment=1):
    """Pixel window [top, left, height, width] (int32) of the reduced image holding the region.

    Its left edge is moved left onto a multiple of ``left_alignment`` pixels.
    """
    ratio_f = tf.cast(ratio, tf.float32)
    offset = (
        ratio_f - 1.0
    ) / 2.0  # reduced pixel u has its centre at image x = r*u + offset
    reduced_hw = (size_hw + ratio - 1) // ratio
    low = tf.math.floor((center[::-1] - half_extent - offset) / ratio_f)
    high = tf.math.ceil((center[::-1] + half_extent - offset) / ratio_f) + 1.0
    low = tf.clip_by_value(tf.cast(low, tf.int32), 0, reduced_hw - 1)
    high = tf.clip_by_value(tf.cast(high, tf.int32), low + 1, reduced_hw)
    low = tf.stack([low[0], low[1] // left_alignment * left_alignment])
    return tf.concat([low, high - low], axis=0)


def _region_to_image(window, ratio):
    ratio_f = tf.cast(ratio, tf.float32)
    offset = (ratio_f - 1.0) / 2.0
    top = tf.cast(window[0], tf.float32) * ratio_f + offset
    left = tf.cast(window[1], tf.float32) * ratio_f + offset
    return tf.stack(
        [
            tf.stack([ratio_f, 0.0, left]),
            tf.stack([0.0, ratio_f, top]),
            tf.constant([0.0, 0.0, 1.0]),
        ]
    )


def _decode_jpeg_region(contents, center, half_extent, max_zoom, reduced_decode):
    size_hw = tf.io.extract_jpeg_shape(contents, output_type=tf.int32)[:2]
    if reduced_decode:
        index, ratio = choose_reduction_ratio(max_zoom)
    else:
        index, ratio = tf.constant(0), tf.constant(1)
    alignment = tf.maximum(JPEG_CROP_ALIGNMENT_PX // ratio, 1)
    window = _window(center, half_extent, ratio, size_hw, alignment)

    def decoder(r):
        return lambda: tf.io.decode_and_crop_jpeg(
            contents, window, channels=3, ratio=r, dct_method="INTEGER_ACCURATE"
        )

    branches = (
        [decoder(r) for r in JPEG_REDUCTION_RATIOS] if reduced_decode else [decoder(1)]
    )
    region = tf.switch_case(index, branches) if reduced_decode else branches[0]()
    return region, _region_to_image(window, ratio)


def _decode_other_region(contents, center, half_extent):
    image = tf.io.decode_image(
        contents, channels=3, expand_animations=False, dtype=tf.uint8
    )
    size_hw = tf.shape(image, out_type=tf.int32)[:2]
    ratio = tf.constant(1)
    window = _window(center, half_extent, ratio, size_hw)
    region = image[window[0] : window[0] + window[2], window[1] : window[1] + window[3]]
    return region, _region_to_image(window, ratio)


# The warp is compiled with XLA, which needs static shapes: a region's pixels are flattened
# and padded up to a power of two of at least this many pixels, so that it compiles once per
# size class (a dozen at most) rather than once per region shape.
MIN_PADDED_REGION_PIXELS = 2**10


def _neighbour_weights(low, fraction, count):
    """Weights and clipped indices of the two neighbours ``low`` and ``low + 1`` along one axis.

    A neighbour outside ``[0, count)`` gets weight 0 (black), so the border test is paid once
    per output pixel and axis instead of once per gathered value.
    """
    inside_low = tf.cast((low >= 0) & (low < count), tf.float32)
    inside_high = tf.cast((low >= -1) & (low < count - 1), tf.float32)
    weight_low = ((1.0 - fraction) * inside_low)[..., None]
    weight_high = (fraction * inside_high)[..., None]
    return (weight_low, weight_high,
            tf.clip_by_value(low, 0, count - 1), tf.clip_by_value(low + 1, 0, count - 1))


def bilinear_sample(pixels, region_hw, region_to_output, gains, size):
    """Bilinear resampling of a flattened (padded) region of uint8 RGB pixels, times ``gains``.

    Output pixel (x, y) reads the region at ``inverse(region_to_output) @ (x, y, 1)`` (pixel
    centres at integers), from its four neighbours, each gathered as one RGB triple;
    neighbours outside the region count as black, so the result fades to black over the last
    pixel at the border, as ``ImageProjectiveTransformV3`` does with ``fill_mode="CONSTANT"``.
    Values are cut to whole uint8 levels like that op's uint8 output, then multiplied by the
    per-channel ``gains`` and clipped to [0, 1]. Compiled with XLA (``_bilinear_warp``, or
    inside a larger compiled function), it all fuses into one loop.

    Args:
        pixels: (P, 3) uint8, the region's pixels row by row, zero-padded
            (``padded_region_pixels``).
        region_hw: (2,) int32, the region's height and width.
        region_to_output: (3, 3) float32 affine matrix, region pixels -> output pixels.
        gains: (3,) float32 per-channel factors.
        size: (height, width) of the output, Python ints.

    Returns:
        (height, width, 3) float32 tensor in [0, 1].

    Example:
        >>> region = tf.fill((10, 10, 3), tf.constant(255, tf.uint8))
        >>> crop = bilinear_sample(padded_region_pixels(region), tf.constant([10, 10]),
        ...                        tf.eye(3), tf.ones([3]), (4, 12))
        >>> float(crop[0, 0, 0]), float(crop[0, 11, 0])      # inside, 2 columns beyond
        (1.0, 0.0)
    """
    height, width = region_hw[0], region_hw[1]
    output_to_region = tf.linalg.inv(tf.cast(region_to_output, tf.float32))
    output_to_region = output_to_region / output_to_region[2, 2]
    ys, xs = tf.meshgrid(
        tf.range(size[0], dtype=tf.float32), tf.range(size[1], dtype=tf.float32), indexing="ij"
    )
    m = output_to_region
    # Far outside, every neighbour is black; clipping keeps the integer casts in range.
    source_x = tf.clip_by_value(m[0, 0] * xs + m[0, 1] * ys + m[0, 2], -2.0,
                                tf.cast(width, tf.float32) + 1.0)
    source_y = tf.clip_by_value(m[1, 0] * xs + m[1, 1] * ys + m[1, 2], -2.0,
                                tf.cast(height, tf.float32) + 1.0)
    left, top = tf.floor(source_x), tf.floor(source_y)
    weight_left, weight_right, left_column, right_column = _neighbour_weights(
        tf.cast(left, tf.int32), source_x - left, width)
    weight_top, weight_bottom, top_row, bottom_row = _neighbour_weights(
        tf.cast(top, tf.int32), source_y - top, height)
    top_row, bottom_row = top_row * width, bottom_row * width

    def pixel(index):
        return tf.cast(tf.gather(pixels, index), tf.float32)

    upper = (pixel(top_row + left_column) * weight_left
             + pixel(top_row + right_column) * weight_right)
    lower = (pixel(bottom_row + left_column) * weight_left
             + pixel(bottom_row + right_column) * weight_right)
    levels = tf.floor(upper * weight_top + lower * weight_bottom)
    return tf.clip_by_value(levels * (1.0 / 255.0) * gains, 0.0, 1.0)


_bilinear_warp = tf.function(bilinear_sample, jit_compile=True)


def padded_region_pixels(region):
    """(h, w, 3) uint8 region -> its (P, 3) pixels padded to a size class (``bilinear_sample``).

    Example:
        >>> padded_region_pixels(tf.zeros((10, 10, 3), tf.uint8)).shape.as_list()
        [1024, 3]
    """
    return _padded_to_power_of_two(tf.reshape(region, [-1, 3]))


def _padded_to_power_of_two(pixels):
    """(P, 3) ``pixels`` zero-padded to a power of two of at least MIN_PADDED_REGION_PIXELS rows.

    The padding runs on the flat bytes: one contiguous copy, where padding the (P, 3) tensor
    along its first axis copies three bytes at a time.
    """
    count = tf.shape(pixels)[0]
    length = tf.cast(
        2.0 ** tf.math.ceil(tf.math.log(tf.cast(count, tf.float32)) / math.log(2.0)), tf.int32
    )
    length = tf.where(length < count, 2 * length, length)  # float rounding at 2**k
    length = tf.maximum(length, MIN_PADDED_REGION_PIXELS)
    flat = tf.pad(tf.reshape(pixels, [-1]), [[0, 3 * (length - count)]])
    return tf.reshape(flat, [-1, 3])


def warp_region(region, region_to_output, size, gains=None):
    """Warp a uint8 RGB region onto a float32 grid in [0, 1] (bilinear, black outside).

    The resampling of ``ImageProjectiveTransformV3`` (``transforms.warp_image``) for an
    affine matrix, run on the uint8 pixels so the (possibly large) region is never converted
    to float, and compiled with XLA into one fused loop (about 3x faster than the op on a
    256x256 crop). The interpolated values are cut to whole uint8 levels (at most 1/255 off).
    Colour ``gains`` are applied in the same loop.

    Args:
        region: (h, w, 3) uint8 tensor.
        region_to_output: (3, 3) float32 affine matrix mapping region pixels to output pixels.
        size: (height, width) of the output, Python ints.
        gains: optional (3,) float32 per-channel factors; the result is clipped to [0, 1].

    Returns:
        (height, width, 3) float32 tensor in [0, 1].

    Example:
        >>> region = tf.fill((10, 10, 3), tf.constant(255, tf.uint8))
        >>> crop = warp_region(region, tf.eye(3), (4, 12))       # 2 columns beyond the edge
        >>> crop.shape.as_list(), float(crop[0, 0, 0]), float(crop[0, 11, 0])
        ([4, 12, 3], 1.0, 0.0)
    """
    region = tf.convert_to_tensor(region)
    gains = tf.ones([3]) if gains is None else tf.cast(gains, tf.float32)
    pixels = padded_region_pixels(region)
    warped = _bilinear_warp(pixels, tf.shape(region)[:2], tf.cast(region_to_output, tf.float32),
                            gains, tuple(size))
    warped.set_shape((size[0], size[1], 3))
    return warped


def decode_region(contents, center, half_extent_px, max_zoom, reduced_decode=True):
    """Decode the part of an encoded image around ``center`` (JPEG, PNG, GIF, BMP, WebP).

    Any channel count becomes RGB (grayscale is replicated, alpha is dropped). JPEGs are
    decoded only inside the region (``decode_and_crop_jpeg``) and, when the crops are
    smaller than the region, at 1/2, 1/4 or 1/8 size.

    Args:
        contents: scalar string tensor, the encoded file.
        center: (2,) float32, region centre (x, y) in image pixels.
        half_extent_px: scalar float32, half side of the square region in image pixels.
        max_zoom: scalar float32, the largest output-pixels-per-image-pixel of any crop that
            will be taken from the region (decides the reduction ratio).
        reduced_decode: allow reduced-size JPEG decoding.

    Returns:
        region: (h, w, 3) uint8 tensor (clipped to the image).
        region_to_image: (3, 3) float32 matrix mapping region pixels to image pixels.

    Example:
        >>> contents = tf.io.encode_png(tf.zeros((40, 60, 1), tf.uint8))
        >>> region, to_image = decode_region(contents, [30.0, 20.0], 5.0, 1.0)
        >>> region.shape.as_list(), to_image.numpy()[:2, 2].tolist()
        ([11, 11, 3], [25.0, 15.0])
    """
    center = tf.cast(tf.convert_to_tensor(center), tf.float32)
    half_extent_px = tf.cast(half_extent_px, tf.float32)
    return tf.cond(
        tf.io.is_jpeg(contents),
        lambda: _decode_jpeg_region(
            contents, center, half_extent_px, max_zoom, reduced_decode
        ),
        lambda: _decode_other_region(contents, center, half_extent_px),
    )
