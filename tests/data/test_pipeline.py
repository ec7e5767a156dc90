"""The tf.data pipeline: geometry of augmented samples, flips, evaluation outputs, seeds, errors."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from hg_keras.data import (
    PipelineConfig,
    apply_matrix,
    augment_sample,
    crop_matrix_np,
    crop_sample,
    load_region,
    make_dataset,
    plan_augmentation,
    records_to_columns,
    rescale_matrix,
    sample_augmentation,
    warp_region,
)
from hg_keras.datasets.records import MPII_INFO

L_WRIST = MPII_INFO.joint_names.index("l_wrist")  # drawn red by the conftest fixture
R_WRIST = MPII_INFO.joint_names.index("r_wrist")  # drawn green
FLIP = MPII_INFO.flip_permutation


def _element(records, row):
    columns = records_to_columns(records, MPII_INFO.num_joints)
    return {key: tf.constant(values[row]) for key, values in columns.items()}


def _training_sample(records, row, config, seed):
    element = {**_element(records, row), "seed": tf.constant(seed, tf.int64)}
    element = load_region(plan_augmentation(element, config), config, training=True)
    sample = augment_sample(element, config, FLIP)
    return sample["image"].numpy(), sample["heatmaps"].numpy()


def _peak_xy(heatmap):
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    return np.array([x, y], np.float64)


def _colour_centroid(image, channel):
    """Centre of the pixels where ``channel`` dominates (the red or green wrist dot)."""
    others = np.delete(image, channel, axis=2).max(axis=2)
    weight = np.clip(image[..., channel] - others - 0.3, 0.0, None)
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def test_joints_land_where_the_matrix_says_after_rotation_scale_and_flip(
    person_records,
):
    records = person_records(1)
    config = PipelineConfig(input_size=256)
    joints = records.joints[0]
    flips_seen = set()
    for seed in ([1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0]):
        params = sample_augmentation(tf.constant(seed, tf.int64), config)
        rotation, flip = float(params["rotation_deg"]), bool(params["flip"])
        scale = records.scale[0] * float(params["scale_factor"])
        flips_seen.add(flip)
        image, heatmaps = _training_sample(records, 0, config, seed)
        to_heatmap = crop_matrix_np(records.center[0], scale, (64, 64), rotation, flip)
        to_crop = crop_matrix_np(records.center[0], scale, (256, 256), rotation, flip)
        source = (
            np.array(FLIP) if flip else np.arange(16)
        )  # channel k shows joint source[k]
        for k in range(16):
            if k == 6 or source[k] == 6:  # not annotated: all-zero map
                assert not heatmaps[..., k].any()
                continue
            expected = to_heatmap[:2, :2] @ joints[source[k]] + to_heatmap[:2, 2]
            assert np.abs(_peak_xy(heatmaps[..., k]) - expected).max() <= 0.5
            assert heatmaps[..., k].max() > np.exp(
                -0.5 * 0.5
            )  # a peak within 0.5 px per axis
        # The wrist dots drawn in the image land where the same matrix puts the wrists.
        for joint, channel in ((L_WRIST, 0), (R_WRIST, 1)):
            expected = to_crop[:2, :2] @ joints[joint] + to_crop[:2, 2]
            np.testing.assert_allclose(
                _colour_centroid(image, channel), expected, atol=1.0
            )
    assert flips_seen == {True, False}


def test_flip_swaps_left_and_right_wrists(person_records):
    records = person_records(1)
    fixed = {"input_size": 128, "rotation_deg": 0.0, "scale_range": (1.0, 1.0)}
    image, heatmaps = _training_sample(
        records, 0, PipelineConfig(**fixed, flip_prob=0.0), [0, 0]
    )
    image_f, heatmaps_f = _training_sample(
        records, 0, PipelineConfig(**fixed, flip_prob=1.0), [0, 0]
    )
    # The person's left wrist, mirrored, is now labelled as the right wrist and vice versa.
    for left, right in ((L_WRIST, R_WRIST), (R_WRIST, L_WRIST)):
        x, y = _peak_xy(heatmaps[..., left])
        np.testing.assert_array_equal(_peak_xy(heatmaps_f[..., right]), [31 - x, y])
        np.testing.assert_allclose(
            heatmaps_f[:, ::-1, right], heatmaps[..., left], atol=1e-5
        )
    # The pixels are mirrored, with no other change; flipping twice is the identity.
    np.testing.assert_allclose(image_f[:, ::-1], image, atol=1e-5)
    swapped_back = heatmaps_f[:, ::-1][..., list(FLIP)]
    np.testing.assert_allclose(swapped_back, heatmaps, atol=1e-5)


def test_evaluation_batches_keep_order_and_map_back_to_the_image(person_records):
    records = person_records(5)
    config = PipelineConfig(input_size=64, flip_test=True)
    batches = list(
        make_dataset(records, MPII_INFO, config, training=False, batch_size=2)
    )
    assert [len(b["index"]) for b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(
        np.concatenate([b["index"] for b in batches]), np.arange(5)
    )
    batch = batches[0]
    assert batch["image"].shape == (2, 64, 64, 3) and batch["image"].dtype == tf.float32
    assert batch["heatmaps"].shape == (2, 16, 16, 16)
    assert batch["to_heatmap"].shape == (2, 3, 3) and batch["from_heatmap"].shape == (
        2,
        3,
        3,
    )
    np.testing.assert_allclose(
        batch["image_flipped"].numpy(), batch["image"].numpy()[:, :, ::-1]
    )
    np.testing.assert_allclose(
        batch["center"].numpy(), np.stack(records.center[:2]), atol=1e-5
    )
    np.testing.assert_allclose(batch["scale"].numpy(), records.scale[:2], atol=1e-6)
    for row in range(2):
        to_heatmap = crop_matrix_np(records.center[row], records.scale[row], (16, 16))
        np.testing.assert_allclose(
            batch["to_heatmap"][row].numpy(), to_heatmap, atol=1e-5
        )
        joints = records.joints[row]
        on_grid = joints @ to_heatmap[:2, :2].T + to_heatmap[:2, 2]
        back = on_grid @ batch["from_heatmap"][row].numpy()[:2, :2].T
        back += batch["from_heatmap"][row].numpy()[:2, 2]
        np.testing.assert_allclose(back, joints, atol=1e-4)
        peak = _peak_xy(batch["heatmaps"][row, ..., L_WRIST].numpy())
        assert np.abs(peak - on_grid[L_WRIST]).max() <= 0.5


def test_training_batches_have_one_label_per_output_and_drop_the_remainder(
    person_records,
):
    records = person_records(5)
    config = PipelineConfig(input_size=64)
    names = ("int_16", "int_32", "stack_1")
    dataset = make_dataset(
        records, MPII_INFO, config, batch_size=2, output_names=names, seed=0
    )
    batches = list(dataset)
    assert len(batches) == 2
    images, labels = batches[0]
    assert images.shape == (2, 64, 64, 3)
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    assert sorted(labels) == sorted(names)
    for name in names:
        assert labels[name].shape == (2, 16, 16, 16)
        np.testing.assert_array_equal(labels[name].numpy(), labels["stack_1"].numpy())


def _epochs(dataset, count=2):
    return [
        np.concatenate([images.numpy() for images, _ in dataset]) for _ in range(count)
    ]


def test_seeded_runs_are_reproducible_and_epochs_differ(person_records):
    records = person_records(4)
    config = PipelineConfig(input_size=32)
    first = _epochs(make_dataset(records, MPII_INFO, config, batch_size=2, seed=11))
    again = _epochs(make_dataset(records, MPII_INFO, config, batch_size=2, seed=11))
    other = _epochs(make_dataset(records, MPII_INFO, config, batch_size=2, seed=12), 1)
    for epoch in range(2):
        np.testing.assert_array_equal(first[epoch], again[epoch])
    assert not np.allclose(first[0], first[1])
    assert not np.allclose(first[0], other[0])


def test_cached_regions_give_the_same_crops(person_records):
    records = person_records(
        3, size_hw=(480, 640), scale=2.0
    )  # box 400 px -> 64 px crops
    outputs = {}
    for cache in (False, True):
        config = PipelineConfig(input_size=64, cache=cache)
        dataset = make_dataset(records, MPII_INFO, config, training=False, batch_size=2)
        outputs[cache] = [
            np.concatenate([batch["image"].numpy() for batch in dataset])
            for _ in range(2)
        ]
    np.testing.assert_array_equal(outputs[True][0], outputs[True][1])  # from the cache
    # Cached regions are shrunk to the resolution the crop needs: nearly the same pixels.
    assert np.abs(outputs[True][0] - outputs[False][0]).mean() < 0.01


def _break_files(records):
    truncated = records.image[1]
    with open(truncated, "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 3])
    with open(records.image[2], "w") as f:
        f.write("not an image")
    records = records.copy()
    records.loc[3, "image"] = records.image[3] + ".missing"
    return records


@pytest.mark.parametrize(
    "row, training", [(1, False), (1, True), (2, False), (3, True)]
)
def test_a_bad_file_raises_an_error_naming_it(person_records, row, training):
    # Row 1 is truncated, row 2 is text, row 3 is missing.
    records = _break_files(person_records(4)).iloc[[0, row]].reset_index(drop=True)
    name = records.image[1].rsplit("/", 1)[-1]
    config = PipelineConfig(input_size=32, rotation_deg=0.0)
    dataset = make_dataset(
        records, MPII_INFO, config, training=training, batch_size=2, seed=0
    )
    with pytest.raises(tf.errors.OpError, match=name):
        list(dataset)


def test_bad_files_are_skipped_and_counted_when_asked(person_records, capfd):
    records = _break_files(person_records(5))
    skipped = tf.Variable(0, dtype=tf.int64)
    config = PipelineConfig(input_size=32, on_bad_image="skip")
    dataset = make_dataset(
        records, MPII_INFO, config, training=False, batch_size=4, skipped_images=skipped
    )
    indices = np.concatenate([batch["index"].numpy() for batch in dataset])
    np.testing.assert_array_equal(indices, [0, 4])
    assert int(skipped.numpy()) == 3
    err = capfd.readouterr().err
    for name in ("person_1.jpg", "person_2.jpg", "person_3.jpg.missing"):
        assert name in err


def test_training_needs_at_least_one_full_batch(person_records):
    with pytest.raises(ValueError, match="3 records.*batch of 4"):
        make_dataset(
            person_records(3), MPII_INFO, PipelineConfig(input_size=32), batch_size=4
        )


def test_bad_records_are_rejected_naming_the_row(person_records):
    records = pd.DataFrame(person_records(3))
    records.loc[1, "scale"] = -1.0
    with pytest.raises(
        ValueError, match=r"records row 1 \(.*person_1.jpg\): scale is -1.0"
    ):
        make_dataset(records, MPII_INFO, PipelineConfig(input_size=32), batch_size=1)


def test_global_batch_is_split_across_replicas_under_tf_distribute(person_records):
    records = person_records(4)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    dataset = make_dataset(
        records, MPII_INFO, PipelineConfig(input_size=32), batch_size=2, seed=0
    )
    images, labels = next(iter(strategy.experimental_distribute_dataset(dataset)))
    assert images.shape == (2, 32, 32, 3)
    assert labels.shape == (2, 8, 8, 16)  # one output name: a bare tensor, as Keras expects


def test_colour_jitter_scales_each_channel_by_its_gain(person_records):
    records = person_records(1)
    seed = [9, 0]
    plain = _training_sample(records, 0, PipelineConfig(input_size=64), seed)[0]
    config = PipelineConfig(input_size=64, color_jitter=0.2)
    jittered = _training_sample(records, 0, config, seed)[0]
    gains = sample_augmentation(tf.constant(seed, tf.int64), config)[
        "color_gains"
    ].numpy()
    assert np.all((gains >= 0.8) & (gains <= 1.2)) and np.ptp(gains) > 0
    np.testing.assert_allclose(jittered, np.clip(plain * gains, 0.0, 1.0), atol=1e-6)


def test_an_input_context_keeps_its_share_and_batches_per_replica(person_records):
    records = person_records(5)
    context = tf.distribute.InputContext(
        num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2
    )
    config = PipelineConfig(input_size=32)
    dataset = make_dataset(
        records, MPII_INFO, config, training=False, batch_size=4, input_context=context
    )
    batches = [batch["index"].numpy() for batch in dataset]
    assert [len(b) for b in batches] == [2]  # global batch 4 over 2 replicas
    np.testing.assert_array_equal(np.concatenate(batches), [1, 3])


def test_compiled_crop_equals_the_crop_matrix_warp_and_joint_mapping(person_records):
    """crop_sample runs as one XLA call; it gives what its public pieces give one by one."""
    config = PipelineConfig(color_jitter=0.2)
    element = {**_element(person_records(1), 0), "seed": tf.constant([3, 4], tf.int64)}
    element = load_region(plan_augmentation(element, config), config, training=True)
    element.update(rotation_deg=tf.constant(20.0), flip=tf.constant(True),
                   color_gains=tf.constant([0.9, 1.0, 1.1]))
    sample = crop_sample(element, config, FLIP)
    size = (config.input_size, config.input_size)
    image_to_crop = crop_matrix_np(element["center"], element["scale"] * element["scale_factor"],
                                   size, 20.0, True).astype(np.float32)
    crop = warp_region(element["region"], image_to_crop @ element["region_to_image"].numpy(),
                       size, element["color_gains"]).numpy()
    levels = np.abs(np.round(sample["image"].numpy() * 255) - np.round(crop * 255))
    assert levels.max() <= 1 and np.mean(levels > 0) < 0.001
    to_heatmap = rescale_matrix(size, (config.output_size,) * 2).numpy() @ image_to_crop
    joints = apply_matrix(to_heatmap, element["joints"].numpy()[list(FLIP)]).numpy()
    valid = sample["valid"].numpy()
    np.testing.assert_allclose(sample["joints_hm"].numpy()[valid], joints[valid], atol=1e-3)
    assert valid.sum() >= 8
