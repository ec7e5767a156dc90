"""The tf.data input pipeline: person records -> batches of crops and heatmap targets.

Stages (all TensorFlow ops, no Python per sample):

1. records (one row per person) -> tensor slices, shuffled with a seed when training;
2. read the file and decode only the region around the person, at reduced size when the
   crop does not need full resolution (``hg_keras.data.images``); unreadable files raise an
   error naming the file, or are skipped and counted (``PipelineConfig.on_bad_image``);
3. training: draw rotation / scale / flip / colour gains (``hg_keras.data.augment``), build
   the one crop matrix (``hg_keras.data.transforms.crop_matrix``), warp the image with it and
   map the joints with it, then draw the Gaussian targets (``hg_keras.data.heatmaps``);
   evaluation: the same without augmentation, plus the matrices that map heatmap pixels back
   to the image;
4. batch, prefetch.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from hg_keras.data.augment import sample_augmentation
from hg_keras.data.config import PipelineConfig
from hg_keras.data.heatmaps import gaussian_heatmaps
from hg_keras.data.images import decode_region, region_half_extent_px, warp_region
from hg_keras.data.transforms import BOX_PIXELS_PER_SCALE, apply_matrix, crop_matrix


def records_to_columns(records, num_joints):
    """Validated column arrays of a records DataFrame, ready for ``from_tensor_slices``.

    Args:
        records: ``pandas.DataFrame`` in the schema of ``hg_keras.datasets.records``.
        num_joints: K, the number of joints the dataset info declares.

    Returns:
        dict of NumPy arrays: ``image`` (N,) str, ``center`` (N, 2) float32, ``scale`` (N,)
        float32, ``joints`` (N, K, 2) float32 (0 where not annotated), ``annotated`` (N, K)
        bool, ``index`` (N,) int64 (row position in ``records``).

    Raises:
        ValueError: naming the row and file of a record with a bad centre, scale or joints.
    """
    count = len(records)
    if count == 0:
        raise ValueError("records: no rows; make_dataset needs at least one person")
    image = records["image"].astype(str).to_numpy()
    center = np.stack([np.asarray(c, np.float32).reshape(2) for c in records["center"]])
    scale = records["scale"].to_numpy(np.float32)
    joints = np.stack([np.asarray(j, np.float32) for j in records["joints"]])
    annotated = np.stack([np.asarray(a, bool) for a in records["annotated"]])
    if joints.shape[1:] != (num_joints, 2) or annotated.shape[1:] != (num_joints,):
        raise ValueError(
            f"records: joints have shape {joints.shape[1:]} and annotated {annotated.shape[1:]}; "
            f"the dataset info declares {num_joints} joints, so expected ({num_joints}, 2) "
            f"and ({num_joints},)"
        )
    bad_scale = ~(np.isfinite(scale) & (scale > 0))
    bad_center = ~np.isfinite(center).all(axis=1)
    bad_joints = (annotated & ~np.isfinite(joints).all(axis=2)).any(axis=1)
    for name, bad, values in (
        ("scale", bad_scale, scale),
        ("center", bad_center, center),
        ("an annotated joint", bad_joints, None),
    ):
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = "non-finite" if values is None else f"{values[row]}"
            raise ValueError(
                f"records row {row} ({image[row]}): {name} is {shown}; "
                "scale must be > 0 and centre / annotated joints finite"
            )
    joints = np.where(annotated[..., None], joints, 0.0).astype(np.float32)
    return {
        "image": image,
        "center": center,
        "scale": scale,
        "joints": joints,
        "annotated": annotated,
        "index": np.arange(count, dtype=np.int64),
    }


AUGMENTATION_KEYS = ("rotation_deg", "scale_factor", "flip", "color_gains")


def plan_augmentation(element, config):
    """Add the sample's augmentation parameters, drawn from its ``seed`` (training only).

    Drawing them before the file is read lets ``load_region`` decode only the part of the
    image, at the resolution, that this sample's crop needs.

    Args:
        element: dict with a (2,) int64 ``seed``.
        config: ``PipelineConfig``.

    Returns:
        ``element`` plus ``rotation_deg``, ``scale_factor``, ``flip``, ``color_gains``
        (see ``sample_augmentation``).
    """
    return {**element, **sample_augmentation(element["seed"], config)}


def _region_bounds(element, config, training):
    """(largest crop box side px, largest |rotation| deg, smallest crop box side px)."""
    box_px = BOX_PIXELS_PER_SCALE * element["scale"]
    if not training:
        return box_px, 0.0, box_px
    if "scale_factor" in element:  # this sample's own crop
        box_px = box_px * element["scale_factor"]
        return box_px, element["rotation_deg"], box_px
    # Every crop the augmentation may take (for cached regions).
    rotation = config.rotation_deg if config.rotation_prob > 0 else 0.0
    low, high = config.scale_range
    return box_px * high, rotation, box_px * low


def load_region(element, config, training):
    """Read one record's file and decode the region its crop(s) need.

    With augmentation parameters in ``element`` (``plan_augmentation``) the region is this
    sample's rotated crop box; without them, in training mode, it holds every crop the
    augmentation may take (used for caching); in evaluation mode it is the person box.

    Args:
        element: dict with scalar string ``image``, (2,) float32 ``center``, scalar
            float32 ``scale`` (plus anything else, passed through).
        config: ``PipelineConfig``.
        training: whether augmented crops will be taken.

    Returns:
        ``element`` plus ``region`` (h, w, 3) uint8, ``region_to_image`` (3, 3) float32 and
        ``loaded`` (True).
    """
    box_px, rotation, smallest_box_px = _region_bounds(element, config, training)
    half_extent = region_half_extent_px(box_px, rotation)
    max_zoom = config.input_size / smallest_box_px
    contents = tf.io.read_file(element["image"])
    region, region_to_image = decode_region(
        contents, element["center"], half_extent, max_zoom, config.reduced_decode
    )
    return {
        **element,
        "region": region,
        "region_to_image": region_to_image,
        "loaded": True,
    }


RAISE_ADVICE = "fix or remove the file, or pass PipelineConfig(on_bad_image='skip')"
SKIP_ADVICE = "skipped (PipelineConfig.on_bad_image='skip')"


def _failed_region(element):
    return {
        **element,
        "region": tf.zeros((1, 1, 3), tf.uint8),
        "region_to_image": tf.eye(3),
        "loaded": False,
    }


def _load_or_flag(load):
    """Per element: the loaded region, or a placeholder flagged ``loaded=False`` on any error.

    Read and decode errors carry no file name, so each element is loaded in its own
    one-element dataset whose errors are dropped; the placeholder then lets the next stage
    raise (or skip and count) with the file name.
    """

    def load_one(element):
        loaded = tf.data.Dataset.from_tensors(element).map(load).ignore_errors()
        failed = tf.data.Dataset.from_tensors(element).map(_failed_region)
        return loaded.concatenate(failed).take(1)

    return load_one


def _bad_image_message(element, advice):
    return tf.strings.join(
        [
            "cannot read or decode image file '",
            element["image"],
            "' (records row ",
            tf.strings.as_string(element["index"]),
            "); ",
            advice,
        ]
    )


def _require_loaded(element):
    """Stop with an error naming the file when ``element`` failed to load."""
    check = tf.debugging.Assert(
        element["loaded"], [_bad_image_message(element, RAISE_ADVICE)], summarize=1
    )
    with tf.control_dependencies([check]):
        return {**element, "region": tf.identity(element["region"])}


def _keep_loaded(skipped_images):
    """Filter predicate: drop failed elements with a warning naming the file, and count them."""

    def keep(element):
        def skip():
            ops = [
                tf.print(
                    "WARNING hg_keras.data:", _bad_image_message(element, SKIP_ADVICE)
                )
            ]
            if skipped_images is not None:
                ops.append(skipped_images.assign_add(tf.ones((), skipped_images.dtype)))
            with tf.control_dependencies(ops):
                return tf.constant(False)

        return tf.cond(element["loaded"], lambda: tf.constant(True), skip)

    return keep


def shrink_region(element, config, training):
    """Resize a decoded region down to the resolution its crops need (for caching).

    Args:
        element: output of ``load_region``.
        config: ``PipelineConfig``.
        training: whether augmented crops will be taken.

    Returns:
        ``element`` with a possibly smaller ``region`` and the matching ``region_to_image``.
    """
    _, _, smallest_box_px = _region_bounds(element, config, training)
    max_zoom = config.input_size / smallest_box_px
    region = element["region"]
    region_to_image = element["region_to_image"]
    zoom = (
        max_zoom * region_to_image[0, 0]
    )  # needed region pixels per current region pixel
    old_hw = tf.cast(tf.shape(region)[:2], tf.float32)
    new_hw = tf.maximum(tf.math.ceil(old_hw * tf.minimum(zoom, 1.0)), 1.0)

    def resize():
        resized = tf.image.resize(region, tf.cast(new_hw, tf.int32), antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)

    smaller = tf.reduce_any(new_hw < old_hw)
    region = tf.cond(smaller, resize, lambda: region)
    step_y, step_x = old_hw[0] / new_hw[0], old_hw[1] / new_hw[1]
    new_to_old = tf.stack(
        [
            tf.stack([step_x, 0.0, 0.5 * step_x - 0.5]),
            tf.stack([0.0, step_y, 0.5 * step_y - 0.5]),
            tf.constant([0.0, 0.0, 1.0]),
        ]
    )
    return {
        **element,
        "region": region,
        "region_to_image": region_to_image @ new_to_old,
    }


def _crop_image(element, image_to_crop, input_size):
    region_to_crop = image_to_crop @ element["region_to_image"]
    return warp_region(element["region"], region_to_crop, (input_size, input_size))


def _targets(joints_xy, annotated, image_to_heatmap, output_size, sigma_px):
    """Gaussian targets of image-pixel joints mapped onto the heatmap grid."""
    joints_hm = apply_matrix(image_to_heatmap, joints_xy)
    inside = tf.reduce_all(
        (joints_hm >= -0.5) & (joints_hm < output_size - 0.5), axis=-1
    )
    valid = tf.cast(annotated, tf.bool) & inside
    return gaussian_heatmaps(joints_hm, valid, (output_size, output_size), sigma_px)


def augment_sample(element, config, flip_permutation):
    """One augmented training sample from a loaded region.

    The crop matrix (``crop_matrix``) built from the record's centre, the augmented scale,
    the rotation and the flip warps the image and maps the joints; when flipped, target
    channel k holds joint ``flip_permutation[k]`` (left and right swap).

    Args:
        element: output of ``plan_augmentation`` and ``load_region``, with ``joints``
            (K, 2) float32 and ``annotated`` (K,) bool.
        config: ``PipelineConfig``.
        flip_permutation: K ints, each joint's mirror joint.

    Returns:
        dict with ``image`` (S, S, 3) float32 in [0, 1] and ``heatmaps`` (S/4, S/4, K) float32.
    """
    params = {key: element[key] for key in AUGMENTATION_KEYS}
    size, out = config.input_size, config.output_size
    scale = element["scale"] * params["scale_factor"]
    rotation, flip = params["rotation_deg"], params["flip"]
    image = _crop_image(
        element,
        crop_matrix(element["center"], scale, (size, size), rotation, flip),
        size,
    )
    if config.color_jitter > 0:
        image = tf.clip_by_value(image * params["color_gains"], 0.0, 1.0)
    permutation = tf.constant(flip_permutation, tf.int32)
    joints = tf.where(
        flip, tf.gather(element["joints"], permutation), element["joints"]
    )
    annotated = tf.where(
        flip, tf.gather(element["annotated"], permutation), element["annotated"]
    )
    image_to_heatmap = crop_matrix(element["center"], scale, (out, out), rotation, flip)
    heatmaps = _targets(
        joints, annotated, image_to_heatmap, out, config.heatmap_sigma_px
    )
    return {"image": image, "heatmaps": heatmaps}


def evaluation_sample(element, config):
    """One evaluation sample: the plain crop plus what maps predictions back to the image.

    Returns:
        dict with ``image`` (S, S, 3), optional ``image_flipped`` (S, S, 3), ``center`` (2,),
        ``scale`` (), ``to_heatmap`` (3, 3) image px -> heatmap px, ``from_heatmap`` (3, 3)
        heatmap px -> image px, ``index`` () int64, ``heatmaps`` (S/4, S/4, K).
    """
    size, out = config.input_size, config.output_size
    center, scale = element["center"], element["scale"]
    image = _crop_image(element, crop_matrix(center, scale, (size, size)), size)
    to_heatmap = crop_matrix(center, scale, (out, out))
    sample = {
        "image": image,
        "center": center,
        "scale": scale,
        "to_heatmap": to_heatmap,
        "from_heatmap": tf.linalg.inv(to_heatmap),
        "index": element["index"],
        "heatmaps": _targets(
            element["joints"],
            element["annotated"],
            to_heatmap,
            out,
            config.heatmap_sigma_px,
        ),
    }
    if config.flip_test:
        sample["image_flipped"] = tf.reverse(image, axis=[1])
    return sample


def make_dataset(
    records,
    info,
    config=None,
    training=True,
    batch_size=32,
    output_names=("stack_1",),
    seed=None,
    skipped_images=None,
    num_parallel_calls=tf.data.AUTOTUNE,
):
    """Build the ``tf.data.Dataset`` of training or evaluation batches.

    Training: shuffled with ``seed`` (a new order and new augmentations each pass, the same
    sequence for the same seed), one pass over the records per iteration (Keras ``fit``
    re-iterates it every epoch), ``drop_remainder=True``. Elements are
    ``(images (B, S, S, 3) float32 in [0, 1], {name: heatmaps (B, S/4, S/4, K) float32})``
    with the same targets under every name of ``output_names`` (one label per supervised
    output of the model, e.g. ``model.output_names``).

    Evaluation (``training=False``): record order, no augmentation, last batch kept. Elements
    are dicts: ``image`` (B, S, S, 3), ``image_flipped`` (only with ``config.flip_test``),
    ``center`` (B, 2), ``scale`` (B,), ``to_heatmap`` (B, 3, 3) image px -> heatmap px,
    ``from_heatmap`` (B, 3, 3) heatmap px -> image px, ``index`` (B,) int64 row position in
    ``records``, ``heatmaps`` (B, S/4, S/4, K).

    Distribution: ``batch_size`` is the global batch. Under ``tf.distribute`` (Keras ``fit``
    in a strategy scope, or ``strategy.experimental_distribute_dataset``) each of R replicas
    receives ``batch_size / R`` samples per step, so pass a multiple of R. Multi-worker
    sharding is by element (``AutoShardPolicy.DATA``); all workers must use the same seed.

    Args:
        records: ``pandas.DataFrame`` in the schema of ``hg_keras.datasets.records``.
        info: ``DatasetInfo`` (number of joints and the flip permutation).
        config: ``PipelineConfig`` (``PipelineConfig()`` when None).
        training: augmented, shuffled training batches or plain evaluation batches.
        batch_size: global batch size.
        output_names: names of the model outputs that receive targets (training only).
        seed: int seed of the shuffle and of the augmentations; None: not reproducible.
        skipped_images: optional scalar int ``tf.Variable``; with
            ``config.on_bad_image="skip"`` it is increased by one per skipped sample.
        num_parallel_calls: parallelism of the per-sample stages.

    Returns:
        ``tf.data.Dataset``.

    Example:
        >>> from hg_keras.datasets import MPII_INFO
        >>> train = make_dataset(records, MPII_INFO, PipelineConfig(), training=True,
        ...                      batch_size=16, output_names=model.output_names, seed=0)
        >>> model.fit(train, epochs=100)                                  # doctest: +SKIP
    """
    config = config if config is not None else PipelineConfig()
    if batch_size < 1:
        raise ValueError(f"make_dataset: batch_size is {batch_size}; it must be >= 1")
    if len(info.flip_permutation) != info.num_joints:
        raise ValueError(
            f"DatasetInfo {info.name!r}: flip_permutation has {len(info.flip_permutation)} "
            f"entries for {info.num_joints} joints"
        )
    output_names = tuple(output_names)
    if training and not output_names:
        raise ValueError("make_dataset: output_names is empty; pass model.output_names")
    columns = records_to_columns(records, info.num_joints)
    count = len(columns["index"])
    dataset = tf.data.Dataset.from_tensor_slices(columns)

    def load(element):
        return load_region(element, config, training)

    def load_checked(dataset):
        dataset = dataset.interleave(
            _load_or_flag(load),
            cycle_length=tf.data.AUTOTUNE,
            block_length=1,
            num_parallel_calls=num_parallel_calls,
            deterministic=True,
        )
        if config.on_bad_image == "skip":
            return dataset.filter(_keep_loaded(skipped_images))
        return dataset.map(_require_loaded)

    if config.cache:
        dataset = load_checked(dataset)
        dataset = dataset.map(
            lambda element: shrink_region(element, config, training),
            num_parallel_calls=num_parallel_calls,
        ).cache()
    if training:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            lambda element, random: plan_augmentation(
                {**element, "seed": tf.stack([random, element["index"]])}, config
            )
        )
    if not config.cache:
        dataset = load_checked(dataset)

    flip_permutation = tuple(int(j) for j in info.flip_permutation)

    def sample(element):
        if training:
            return augment_sample(element, config, flip_permutation)
        return evaluation_sample(element, config)

    dataset = dataset.map(sample, num_parallel_calls=num_parallel_calls)
    dataset = dataset.batch(
        batch_size, drop_remainder=training, num_parallel_calls=num_parallel_calls
    )
    if training:
        dataset = dataset.map(
            lambda batch: (
                batch["image"],
                {name: batch["heatmaps"] for name in output_names},
            )
        )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)
