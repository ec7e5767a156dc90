"""The tf.data input pipeline: person records -> batches of crops and heatmap targets.

Stages (all TensorFlow ops, no Python per sample):

1. records (one row per person) -> tensor slices; training: shuffled with a seed, and each
   sample gets its rotation / scale / flip / colour gains from a per-sample seed
   (``plan_augmentation``);
2. read the file and decode only the region the crop needs, at reduced size when the crop
   does not need full resolution (``load_region``, ``hg_keras.data.images``); files that are
   missing, truncated or not images stop the pipeline with an error naming the file, or are
   skipped and counted (``PipelineConfig.on_bad_image``);
3. one crop matrix (``hg_keras.data.transforms.crop_matrix``) warps the image and maps the
   joints onto the heatmap grid (``crop_sample``);
4. batch, then draw the Gaussian targets for the whole batch at once (``add_heatmaps``),
   prefetch.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from hg_keras.data.augment import sample_augmentation
from hg_keras.data.config import PipelineConfig
from hg_keras.data.heatmaps import gaussian_heatmaps
from hg_keras.data.images import (
    bilinear_sample,
    decode_region,
    encoded_image_is_complete,
    padded_region_pixels,
    region_half_extent_px,
)
from hg_keras.data.transforms import (
    BOX_PIXELS_PER_SCALE,
    apply_matrix,
    crop_matrix,
    rescale_matrix,
)


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
RAISE_ADVICE = "fix or remove the file, or pass PipelineConfig(on_bad_image='skip')"
SKIP_ADVICE = "skipped (PipelineConfig.on_bad_image='skip')"


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
    A file that is not a complete image (``encoded_image_is_complete``) is not decoded:
    it gives a 1x1 placeholder region and ``loaded=False``.

    Args:
        element: dict with scalar string ``image``, (2,) float32 ``center``, scalar
            float32 ``scale`` (plus anything else, passed through).
        config: ``PipelineConfig``.
        training: whether augmented crops will be taken.

    Returns:
        ``element`` plus ``region`` (h, w, 3) uint8, ``region_to_image`` (3, 3) float32 and
        ``loaded`` (scalar bool).
    """
    box_px, rotation, smallest_box_px = _region_bounds(element, config, training)
    half_extent = region_half_extent_px(box_px, rotation)
    max_zoom = config.input_size / smallest_box_px
    contents = tf.io.read_file(element["image"])
    loaded = encoded_image_is_complete(contents)
    region, region_to_image = tf.cond(
        loaded,
        lambda: decode_region(
            contents, element["center"], half_extent, max_zoom, config.reduced_decode
        ),
        lambda: (tf.zeros((1, 1, 3), tf.uint8), tf.eye(3)),
    )
    return {
        **element,
        "region": region,
        "region_to_image": region_to_image,
        "loaded": loaded,
    }


def _failed_region(element):
    return {
        **element,
        "region": tf.zeros((1, 1, 3), tf.uint8),
        "region_to_image": tf.eye(3),
        "loaded": False,
    }


def _load_or_flag(load):
    """Per element: ``load(element)``, or a placeholder flagged ``loaded=False`` on any error.

    Read and decode errors carry no file name, so each element is loaded in its own
    one-element dataset whose errors are dropped; the placeholder then lets the next stage
    skip and count the sample, naming the file.
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
            "): not a complete JPEG/PNG/GIF/BMP/WebP file; ",
            advice,
        ]
    )


def _require_loaded(element):
    """Stop with an error naming the file when ``element`` failed to load."""

    def fail():
        message = _bad_image_message(element, RAISE_ADVICE)
        with tf.control_dependencies([tf.debugging.Assert(False, [message])]):
            return tf.identity(element["region"])

    region = tf.cond(element["loaded"], lambda: element["region"], fail)
    return {**element, "region": region}


def _keep_loaded(skipped_images):
    """Filter predicate: drop failed elements with a warning naming the file, and count them."""

    def keep(element):
        def skip():
            message = _bad_image_message(element, SKIP_ADVICE)
            ops = [tf.print("WARNING hg_keras.data:", message)]
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


def _joints_on_grid(joints_xy, annotated, image_to_heatmap, output_size):
    """Joints in heatmap pixels and which of them get a Gaussian (annotated and inside)."""
    joints_hm = apply_matrix(image_to_heatmap, joints_xy)
    inside = tf.reduce_all(
        (joints_hm >= -0.5) & (joints_hm < output_size - 0.5), axis=-1
    )
    return joints_hm, tf.cast(annotated, tf.bool) & inside


@tf.function(jit_compile=True)
def _crop_kernel(pixels, region_hw, region_to_image, center, scale, rotation, flip, gains,
                 joints, annotated, permutation, size, out):
    """One sample's crop, heatmap-grid joints and image -> heatmap matrix, as one XLA call.

    The matrix arithmetic, the warp and the joint mapping would otherwise be dozens of tiny
    TF ops per sample, each paying the executor's per-op cost.
    """
    image_to_crop = crop_matrix(center, scale, (size, size), rotation, flip)
    image = bilinear_sample(pixels, region_hw, image_to_crop @ region_to_image, gains,
                            (size, size))
    # The heatmap grid covers the crop: the same matrix, rescaled from S to S/4 pixels.
    to_heatmap = rescale_matrix((size, size), (out, out)) @ image_to_crop
    # When flipped, channel k holds joint permutation[k] (left and right swap).
    joints = tf.where(flip, tf.gather(joints, permutation), joints)
    annotated = tf.where(flip, tf.gather(annotated, permutation), annotated)
    joints_hm, valid = _joints_on_grid(joints, annotated, to_heatmap, out)
    return image, joints_hm, valid, to_heatmap


def crop_sample(element, config, flip_permutation=None, training=True):
    """Warp a loaded region into the network crop and map the joints onto the heatmap grid.

    Training: the crop matrix (``crop_matrix``) from the record's centre, the augmented
    scale, the rotation and the flip warps the image and maps the joints; when flipped,
    channel k holds joint ``flip_permutation[k]`` (left and right swap); colour gains are
    applied. Evaluation: the plain person box, plus the matrices that map heatmap pixels
    back to the image.

    Args:
        element: output of ``load_region`` (and ``plan_augmentation`` when training), with
            ``joints`` (K, 2) float32 and ``annotated`` (K,) bool.
        config: ``PipelineConfig``.
        flip_permutation: K ints, each joint's mirror joint (training).
        training: augmented or plain crop.

    Returns:
        dict with ``image`` (S, S, 3) float32 in [0, 1], ``joints_hm`` (K, 2) float32 heatmap
        pixels and ``valid`` (K,) bool; evaluation adds ``center``, ``scale``,
        ``to_heatmap`` (3, 3) image px -> heatmap px, ``from_heatmap`` (its inverse),
        ``index`` and, with ``config.flip_test``, ``image_flipped``.
    """
    size, out = config.input_size, config.output_size
    center, scale = element["center"], element["scale"]
    joints, annotated = element["joints"], element["annotated"]
    if training:
        scale = scale * element["scale_factor"]
        rotation, flip = element["rotation_deg"], element["flip"]
        permutation = tf.constant(flip_permutation, tf.int32)
    else:
        rotation, flip = tf.constant(0.0), tf.constant(False)
        permutation = tf.range(tf.shape(joints)[0], dtype=tf.int32)
    gains = element["color_gains"] if training and config.color_jitter > 0 else tf.ones([3])
    region = element["region"]
    image, joints_hm, valid, to_heatmap = _crop_kernel(
        padded_region_pixels(region), tf.shape(region)[:2], element["region_to_image"],
        center, scale, rotation, flip, gains, joints, annotated, permutation, size, out,
    )
    image.set_shape((size, size, 3))
    sample = {"image": image, "joints_hm": joints_hm, "valid": valid}
    if not training:
        sample.update(
            center=center,
            scale=scale,
            to_heatmap=to_heatmap,
            from_heatmap=tf.linalg.inv(to_heatmap),
            index=element["index"],
        )
        if config.flip_test:
            sample["image_flipped"] = tf.reverse(image, axis=[1])
    return sample


def add_heatmaps(sample, config):
    """Replace ``joints_hm`` / ``valid`` by the Gaussian ``heatmaps`` (one sample or a batch).

    Args:
        sample: dict from ``crop_sample``, possibly batched ((B, K, 2) and (B, K)).
        config: ``PipelineConfig`` (heatmap size and sigma).

    Returns:
        dict with ``heatmaps`` (..., S/4, S/4, K) float32 instead of ``joints_hm`` / ``valid``.
    """
    sample = dict(sample)
    joints_hm, valid = sample.pop("joints_hm"), sample.pop("valid")
    size = (config.output_size, config.output_size)
    sample["heatmaps"] = gaussian_heatmaps(
        joints_hm, valid, size, config.heatmap_sigma_px
    )
    return sample


def augment_sample(element, config, flip_permutation):
    """One augmented training sample: ``crop_sample`` then ``add_heatmaps``.

    Returns:
        dict with ``image`` (S, S, 3) float32 in [0, 1] and ``heatmaps`` (S/4, S/4, K).
    """
    return add_heatmaps(crop_sample(element, config, flip_permutation), config)


def evaluation_sample(element, config):
    """One evaluation sample: ``crop_sample(training=False)`` then ``add_heatmaps``.

    Returns:
        dict with ``image`` (S, S, 3), optional ``image_flipped`` (S, S, 3), ``center`` (2,),
        ``scale`` (), ``to_heatmap`` (3, 3) image px -> heatmap px, ``from_heatmap`` (3, 3)
        heatmap px -> image px, ``index`` () int64, ``heatmaps`` (S/4, S/4, K).
    """
    return add_heatmaps(crop_sample(element, config, training=False), config)


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
    input_context=None,
):
    """Build the ``tf.data.Dataset`` of training or evaluation batches.

    Training: shuffled with ``seed`` (a new order and new augmentations each pass, the same
    sequence for the same seed), one pass over the records per iteration (Keras ``fit``
    re-iterates it every epoch), ``drop_remainder=True``. Elements are
    ``(images (B, S, S, 3) float32 in [0, 1], {name: heatmaps (B, S/4, S/4, K) float32})``
    with the same targets under every name of ``output_names`` (one label per supervised
    output of the model, e.g. ``model.output_names``). With a single output name the labels
    are the bare heatmap tensor, which is what Keras expects for a one-output model.

    Evaluation (``training=False``): record order, no augmentation, last batch kept. Elements
    are dicts: ``image`` (B, S, S, 3), ``image_flipped`` (only with ``config.flip_test``),
    ``center`` (B, 2), ``scale`` (B,), ``to_heatmap`` (B, 3, 3) image px -> heatmap px,
    ``from_heatmap`` (B, 3, 3) heatmap px -> image px, ``index`` (B,) int64 row position in
    ``records``, ``heatmaps`` (B, S/4, S/4, K).

    Distribution: ``batch_size`` is the global batch. Under ``tf.distribute`` (Keras ``fit``
    in a strategy scope, or ``strategy.experimental_distribute_dataset``) each of R replicas
    receives ``batch_size / R`` samples per step, so pass a multiple of R; the dataset is
    sharded by element (``AutoShardPolicy.DATA``). With several input pipelines (multi-worker)
    prefer ``strategy.distribute_datasets_from_function(lambda context: make_dataset(...,
    input_context=context))``: each pipeline then reads only its share of the records and
    batches ``batch_size`` split per replica. Use the same seed on every worker.

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
        input_context: optional ``tf.distribute.InputContext``: keep this input pipeline's
            share of the records and batch per replica (``batch_size`` stays global).

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
    if input_context is not None:
        share = slice(
            input_context.input_pipeline_id, None, input_context.num_input_pipelines
        )
        columns = {name: values[share] for name, values in columns.items()}
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    count = len(columns["index"])
    if training and count < batch_size:
        raise ValueError(
            f"make_dataset: {count} records give no full training batch of {batch_size} "
            "(training drops the last partial batch); lower batch_size"
        )
    flip_permutation = tuple(int(j) for j in info.flip_permutation)
    skip_bad = config.on_bad_image == "skip"

    def load(element):
        return load_region(element, config, training)

    def load_all(dataset):
        """Records -> loaded regions; bad files raise (naming them) or are skipped."""
        if skip_bad:
            dataset = dataset.interleave(
                _load_or_flag(load),
                cycle_length=tf.data.AUTOTUNE,
                block_length=1,
                num_parallel_calls=num_parallel_calls,
                deterministic=True,
            )
            return dataset.filter(_keep_loaded(skipped_images))
        return dataset.map(
            lambda element: _require_loaded(load(element)),
            num_parallel_calls=num_parallel_calls,
        )

    def plan(element, random):
        seed = tf.stack([random, element["index"]])
        return plan_augmentation({**element, "seed": seed}, config)

    def crop(element):
        return crop_sample(element, config, flip_permutation, training)

    dataset = tf.data.Dataset.from_tensor_slices(columns)
    if config.cache:  # regions that serve every augmentation, decoded once
        dataset = load_all(dataset)
        dataset = dataset.map(
            lambda element: shrink_region(element, config, training),
            num_parallel_calls=num_parallel_calls,
        ).cache()
    if training:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, seeds)
    if config.cache or skip_bad:
        if training:
            dataset = dataset.map(plan)
        if not config.cache:
            dataset = load_all(dataset)
        per_sample = crop
    elif training:  # the fast path: one fused map per sample

        def per_sample(element, random):
            return crop(_require_loaded(load(plan(element, random))))

    else:

        def per_sample(element):
            return crop(_require_loaded(load(element)))

    dataset = dataset.map(per_sample, num_parallel_calls=num_parallel_calls)
    dataset = dataset.batch(
        batch_size, drop_remainder=training, num_parallel_calls=num_parallel_calls
    )

    def finish(batch):
        batch = add_heatmaps(batch, config)
        if not training:
            return batch
        if len(output_names) == 1:  # Keras hands a one-output model a bare tensor, not a dict
            return batch["image"], batch["heatmaps"]
        return batch["image"], {name: batch["heatmaps"] for name in output_names}

    dataset = dataset.map(finish, num_parallel_calls=num_parallel_calls)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF
        if input_context is not None
        else tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)
