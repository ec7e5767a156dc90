"""Photo prediction: the box rule, any image format, Keras vs SavedModel, presence flags."""

import cv2
import numpy as np
import pytest
import tensorflow as tf
from conftest import HEATMAP_SIZE, INPUT_SIZE, disc_radius_for
from disc_model import draw_discs
from PIL import Image

from hg_keras.export.cropping import (
    box_center_scale,
    box_center_scale_np,
    crop_person,
    resolve_box,
    to_rgb_float_np,
)
from hg_keras.export.predictor import (
    DEFAULT_PRESENCE_THRESHOLD,
    SavedModelPredictor,
    encode_png,
    read_image,
)


def test_box_becomes_center_and_scale_with_the_mpii_margin():
    center, scale = box_center_scale_np([10, 20, 110, 220])
    np.testing.assert_array_equal(center, [60.0, 120.0])
    assert scale == 200 * 1.25 / 200
    center_tf, scale_tf = box_center_scale(tf.constant([10.0, 20.0, 110.0, 220.0]))
    np.testing.assert_array_equal(center_tf.numpy(), [60.0, 120.0])
    assert scale_tf.numpy() == pytest.approx(1.25)


@pytest.mark.parametrize("sentinel", [[np.nan] * 4, [-1.0] * 4])
def test_nan_or_minus_one_box_means_the_whole_image(sentinel):
    box = resolve_box(tf.constant(sentinel, tf.float32), 90, 120).numpy()
    np.testing.assert_array_equal(box, [-0.5, -0.5, 119.5, 89.5])


def test_whole_image_crop_maps_heatmap_centre_to_image_centre():
    image = tf.zeros((90, 120, 3))
    crop, from_heatmap, _ = crop_person(image, [-1.0] * 4, INPUT_SIZE, HEATMAP_SIZE)
    assert crop.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    centre = (HEATMAP_SIZE - 1) / 2
    points = np.array([[centre, centre, 1.0], [centre + 1, centre, 1.0]])
    mapped = points @ from_heatmap.numpy().T
    # Crop side = 1.25 * 120 px, so one heatmap pixel is 150 / 16 = 9.375 image pixels.
    np.testing.assert_allclose(mapped[:, :2], [[59.5, 44.5], [68.875, 44.5]], atol=1e-4)


def test_image_arrays_of_any_layout_become_rgb_floats():
    grey = np.array([[0, 255]], np.uint8)
    np.testing.assert_allclose(to_rgb_float_np(grey), [[[0, 0, 0], [1, 1, 1]]])
    rgba16 = np.zeros((1, 1, 4), np.uint16)
    rgba16[0, 0] = [65535, 0, 32768, 65535]
    np.testing.assert_allclose(to_rgb_float_np(rgba16), [[[1.0, 0.0, 32768 / 65535]]])
    bgr = np.array([[[255, 0, 0]]], np.uint8)
    np.testing.assert_allclose(to_rgb_float_np(bgr, bgr=True), [[[0.0, 0.0, 1.0]]])
    grey_alpha = np.array([[[51, 0]]], np.uint8)
    np.testing.assert_allclose(to_rgb_float_np(grey_alpha), [[[0.2, 0.2, 0.2]]])
    with pytest.raises(ValueError, match=r"shape \(2, 2, 5\)"):
        to_rgb_float_np(np.zeros((2, 2, 5)))


def test_read_image_handles_grey_rgba_16_bit_and_exif_rotation(tmp_path, disc_photo):
    rgb = disc_photo["image"]
    grey_path, rgba_path, deep_path = (tmp_path / n for n in ("g.png", "rgba.png", "d.png"))
    cv2.imwrite(str(grey_path), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    alpha = np.full(rgb.shape[:2] + (1,), 128, np.uint8)
    cv2.imwrite(str(rgba_path), np.concatenate([rgb[:, :, ::-1], alpha], axis=2))
    cv2.imwrite(str(deep_path), rgb[:, :, ::-1].astype(np.uint16) * 257)
    assert read_image(grey_path).shape == (120, 160, 3)
    np.testing.assert_allclose(read_image(rgba_path), rgb / 255.0, atol=1e-6)
    np.testing.assert_allclose(read_image(deep_path), rgb / 255.0, atol=1e-6)

    rotated_path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(rgb).save(rotated_path, exif=exif, quality=95)
    assert read_image(rotated_path).shape == (160, 120, 3)

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="broken.jpg: not a readable image"):
        read_image(broken)


def test_predictions_do_not_depend_on_channels_or_bit_depth(disc_predictor, disc_photo):
    rgb = disc_photo["image"]
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    deep = rgb.astype(np.uint16) * 257
    poses = disc_predictor.predict([rgb, rgba, deep])
    for pose in poses[1:]:
        np.testing.assert_array_equal(pose.keypoints_xy, poses[0].keypoints_xy)


def test_saved_model_predictor_matches_the_keras_predictor(
    saved_model_dir, disc_predictor, disc_photo
):
    predictor = SavedModelPredictor(saved_model_dir.parent)  # base folder: latest version
    assert predictor.path == saved_model_dir
    assert predictor.joint_names == ("red", "green", "blue", "yellow")
    box = (20.0, 10.0, 150.0, 115.0)
    served = predictor.predict([disc_photo["image"]] * 2, boxes=[None, box])
    local = disc_predictor.predict([disc_photo["image"]] * 2, boxes=[None, box])
    for a, b in zip(served, local):
        assert np.abs(a.keypoints_xy - b.keypoints_xy).max() <= 0.5
    assert served[0].box is None
    np.testing.assert_array_equal(served[1].box, box)


def test_a_missing_joint_is_flagged_absent(disc_predictor):
    rng = np.random.default_rng(3)
    image, _ = draw_discs(rng, 100, 100, disc_radius_for(100, 100), missing=(3,))
    pose = disc_predictor.predict([image])[0]
    assert pose.present.tolist() == [True, True, True, False]
    assert pose.scores[3] < DEFAULT_PRESENCE_THRESHOLD <= pose.scores[:3].min()
    joints = pose.to_dict(disc_predictor.joint_names)["joints"]
    assert joints[3]["name"] == "yellow" and joints[3]["present"] is False


def test_boxes_must_match_the_images(disc_predictor, disc_photo):
    with pytest.raises(ValueError, match="one .* per image .2 images"):
        disc_predictor.predict([disc_photo["image"]] * 2, boxes=[(0, 0, 10, 10)])


def test_png_encoding_is_lossless_for_8_and_16_bit():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    decoded = tf.io.decode_png(encode_png(image), channels=3).numpy()
    np.testing.assert_array_equal(decoded, image)
    floats = np.linspace(0, 1, 18, dtype=np.float32).reshape(2, 3, 3)
    decoded16 = tf.io.decode_png(encode_png(floats), channels=3, dtype=tf.uint16).numpy()
    np.testing.assert_allclose(decoded16 / 65535.0, floats, atol=1e-5)
