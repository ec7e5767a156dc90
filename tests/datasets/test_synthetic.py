"""The synthetic dataset: records, splits, determinism, cache and crop geometry."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from hg_keras.data.transforms import apply_matrix_np, crop_matrix_np
from hg_keras.datasets import synthetic
from hg_keras.datasets.records import RECORD_COLUMNS, read_jsonl

NUM_IMAGES = 6


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("synthetic")
    records = synthetic.generate(out_dir, num_images=NUM_IMAGES, seed=3)
    return out_dir, records


def test_generate_writes_one_jpeg_and_one_record_per_image(generated):
    out_dir, records = generated
    assert len(records) == NUM_IMAGES
    assert sorted(p.name for p in (out_dir / "images").iterdir()) == [
        f"{i:06d}.jpg" for i in range(NUM_IMAGES)
    ]
    for image in records.image:
        assert cv2.imread(image).shape == (256, 256, 3)
    assert set(RECORD_COLUMNS) <= set(records.columns)
    assert list(records.image_index) == list(range(NUM_IMAGES))


def test_records_round_trip_through_annotations_jsonl(generated):
    out_dir, records = generated
    lines = (out_dir / "annotations.jsonl").read_text().splitlines()
    assert len(lines) == NUM_IMAGES
    assert json.loads(lines[0])["image"] == "images/000000.jpg"
    loaded = read_jsonl(out_dir / "annotations.jsonl")
    np.testing.assert_allclose(np.stack(loaded.joints), np.stack(records.joints))
    assert list(loaded.image) == list(records.image)


def test_splits_hold_one_valid_image_in_ten(generated):
    out_dir, _ = generated
    train = synthetic.load(out_dir, split="train")
    valid = synthetic.load(out_dir, split="valid")
    assert (len(train), len(valid)) == (5, 1)
    assert set(train.image_index).isdisjoint(valid.image_index)


def test_norm_size_is_six_tenths_of_the_head_box_diagonal(generated):
    _, records = generated
    for row in records.itertuples():
        x1, y1, x2, y2 = row.head_box
        assert row.norm_size == pytest.approx(0.6 * np.hypot(x2 - x1, y2 - y1))


def test_missing_joints_are_zero_and_never_visible(generated):
    _, records = generated
    for row in records.itertuples():
        assert not np.any(row.visible & ~row.annotated)
        np.testing.assert_array_equal(row.joints[~row.annotated], 0.0)


def test_figure_is_between_120_and_200_px_tall_and_inside_its_box():
    for i in range(8):
        _, ann = synthetic.render_sample(np.random.default_rng([11, i]))
        joints = ann["joints"][ann["annotated"]]
        half_box = 100.0 * ann["scale"]
        assert np.all(np.abs(joints - ann["center"]) <= half_box / 1.25)
        box_side_without_margin = 200.0 * ann["scale"] / 1.25
        assert box_side_without_margin >= 120.0 - 1e-6
        assert np.ptp(joints[:, 1]) <= 200.0
        height = box_side_without_margin
        assert ann["head_box"][3] - ann["head_box"][1] < 0.2 * height


def test_joints_of_the_main_figure_land_inside_the_heatmap_grid(generated):
    _, records = generated
    for row in records.itertuples():
        matrix = crop_matrix_np(row.center, row.scale, (64, 64))
        heatmap_xy = apply_matrix_np(matrix, row.joints[row.annotated])
        # 1.25 margin: joints stay within the central 64/1.25 = 51.2 px of the grid.
        assert np.all(heatmap_xy >= 31.5 - 25.6 - 1e-6)
        assert np.all(heatmap_xy <= 31.5 + 25.6 + 1e-6)


def test_right_limbs_are_darker_than_left_limbs():
    rng = np.random.default_rng(5)
    figure = synthetic._sample_figure(rng, 160.0, (128.0, 128.0))
    assert sum(figure.colors["arm_right"]) < sum(figure.colors["arm_left"])
    assert sum(figure.colors["leg_right"]) < sum(figure.colors["leg_left"])


def test_same_seed_gives_identical_images_and_records(tmp_path, generated):
    out_dir, records = generated
    again = synthetic.generate(tmp_path, num_images=NUM_IMAGES, seed=3)
    for a, b in zip(records.image, again.image):
        assert Path(a).read_bytes() == Path(b).read_bytes()
    np.testing.assert_array_equal(np.stack(again.joints), np.stack(records.joints))
    other = synthetic.generate(tmp_path / "other", num_images=2, seed=4)
    assert not np.allclose(np.stack(other.joints), np.stack(records.joints[:2]))


def test_ensure_reuses_the_cache_and_regenerates_when_incomplete(tmp_path):
    root = synthetic.ensure(tmp_path / "synth", num_images=3, seed=0, progress=False)
    manifest = json.loads((root / "manifest.json").read_text())
    assert (manifest["num_images"], manifest["seed"]) == (3, 0)
    first = root / "images" / "000000.jpg"
    stamp = first.stat().st_mtime_ns
    synthetic.ensure(root, num_images=3, seed=0, progress=False)
    assert first.stat().st_mtime_ns == stamp
    (root / "images" / "000002.jpg").unlink()
    synthetic.ensure(root, num_images=3, seed=0, progress=False)
    assert (root / "images" / "000002.jpg").is_file()
    synthetic.ensure(root, num_images=2, seed=0, progress=False)
    assert sorted(p.name for p in (root / "images").iterdir()) == ["000000.jpg", "000001.jpg"]


def test_ensure_never_shows_a_partial_dataset_and_serves_concurrent_callers(tmp_path):
    root = tmp_path / "synth"
    seen_partial = []

    def watch():
        while not done.is_set():
            if (root / "images").exists() and not (root / "manifest.json").exists():
                seen_partial.append(sorted(p.name for p in root.iterdir()))

    done = threading.Event()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        script = ("import sys; from hg_keras.datasets import synthetic; "
                  "root = synthetic.ensure(sys.argv[1], num_images=60, seed=1, progress=False); "
                  "print(len(synthetic.load(root, split=['train', 'valid'])))")
        callers = [subprocess.Popen([sys.executable, "-c", script, str(root)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(3)]
        outputs = [caller.communicate(timeout=300) for caller in callers]
    finally:
        done.set()
        watcher.join()
    for caller, (stdout, stderr) in zip(callers, outputs):
        assert caller.returncode == 0, stderr[-2000:]
        assert stdout.strip() == "60"
    assert seen_partial == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]  # no staging folder left
    assert len(list((root / "images").iterdir())) == 60


def test_synthetic_info_uses_mpii_joints_and_pckh():
    assert synthetic.SYNTHETIC_INFO.joint_names[9] == "head_top"
    assert (synthetic.SYNTHETIC_INFO.metric, synthetic.SYNTHETIC_INFO.threshold) == ("pckh", 0.5)
