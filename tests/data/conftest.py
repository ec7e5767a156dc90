"""Tiny person records with images written by OpenCV, for the input pipeline tests."""

import cv2
import numpy as np
import pytest

from hg_keras.datasets.records import MPII_INFO, make_records

L_WRIST = MPII_INFO.joint_names.index("l_wrist")
R_WRIST = MPII_INFO.joint_names.index("r_wrist")
L_WRIST_RGB, R_WRIST_RGB = (255, 0, 0), (0, 255, 0)


def person_joints(center, spread_px):
    """16 MPII joints on a ring around ``center``; the wrists sit left and right of it."""
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    joints = np.stack([np.cos(angles), np.sin(angles)], axis=1) * spread_px + center
    joints[L_WRIST] = center + [0.45 * spread_px, 0.2 * spread_px]
    joints[R_WRIST] = center + [-0.35 * spread_px, -0.3 * spread_px]
    return joints


def write_person_image(path, joints, size_hw=(240, 320)):
    """A dark image with a red dot on the left wrist and a green dot on the right wrist."""
    image = np.full((*size_hw, 3), 20, np.uint8)
    for joint, rgb in ((L_WRIST, L_WRIST_RGB), (R_WRIST, R_WRIST_RGB)):
        x, y = joints[joint]
        cv2.circle(image, (round(x), round(y)), 3, rgb[::-1], -1, cv2.LINE_AA)
    assert cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 98])


@pytest.fixture
def person_records(tmp_path):
    """Factory: ``person_records(count)`` -> records DataFrame of ``count`` people."""

    def make(count=4, size_hw=(240, 320), scale=0.8, unannotated=(6,)):
        rng = np.random.default_rng(count)
        rows = []
        for n in range(count):
            center = np.array([size_hw[1] / 2 + rng.uniform(-20, 20), size_hw[0] / 2])
            joints = person_joints(center, 50.0 * scale)
            path = tmp_path / f"person_{n}.jpg"
            write_person_image(path, joints, size_hw)
            annotated = np.ones(MPII_INFO.num_joints, bool)
            annotated[list(unannotated)] = False
            rows.append(
                {
                    "image": str(path),
                    "center": center,
                    "scale": scale,
                    "joints": joints,
                    "annotated": annotated,
                    "visible": annotated,
                    "norm_size": 10.0,
                    "split": "train",
                    "image_index": n,
                    "person_index": 0,
                }
            )
        return make_records(rows)

    return make
