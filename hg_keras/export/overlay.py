"""Draw predicted poses onto images and video frames (OpenCV, fast enough for video).

Limbs follow ``hg_keras.evaluation.plots.skeleton_for`` (MPII and FLIC joint orders; other
joint sets get points only). Right-side joints are orange, left-side blue, centre yellow,
as in the evaluation figures. Joints flagged absent (heatmap maximum below the presence
threshold) and the limbs touching them are drawn faded, with a hollow marker.
"""

from __future__ import annotations

import cv2
import numpy as np

from hg_keras.evaluation.plots import (
    CENTER_COLOR,
    LEFT_COLOR,
    RIGHT_COLOR,
    skeleton_for,
)

#: Opacity of absent joints and their limbs.
FADED_ALPHA = 0.35


def _bgr(hex_color: str) -> tuple:
    value = hex_color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return (b, g, r)


def joint_color_bgr(name: str) -> tuple:
    """OpenCV colour of a joint from its name's side (``r_`` / ``l_`` / other)."""
    name = name.lower()
    if name.startswith(("r_", "right")):
        return _bgr(RIGHT_COLOR)
    if name.startswith(("l_", "left")):
        return _bgr(LEFT_COLOR)
    return _bgr(CENTER_COLOR)


def draw_pose(image_bgr, keypoints_xy, present, joint_names, skeleton=None) -> np.ndarray:
    """Draw one pose on a copy of a BGR uint8 image.

    Args:
        image_bgr: (H, W, 3) uint8, OpenCV channel order.
        keypoints_xy: (K, 2) joint positions in image pixels.
        present: (K,) bool; False joints (and their limbs) are drawn faded.
        joint_names: K names (choose colours and, through ``skeleton_for``, the limbs).
        skeleton: optional list of (a, b) joint index pairs; default ``skeleton_for``.

    Returns:
        (H, W, 3) uint8 image with the pose.

    Example:
        >>> overlay = draw_pose(frame, pose.keypoints_xy, pose.present, MPII_INFO.joint_names)
    """
    image_bgr = np.ascontiguousarray(image_bgr)
    height, width = image_bgr.shape[:2]
    thickness = max(1, int(round(max(height, width) / 250)))
    radius = thickness + 2
    skeleton = skeleton_for(joint_names) if skeleton is None else skeleton
    points = [(int(round(x * 16)), int(round(y * 16))) for x, y in np.asarray(keypoints_xy)]
    present = np.asarray(present, bool)
    layers = {True: image_bgr.copy(), False: image_bgr.copy()}
    for a, b in skeleton:
        solid = bool(present[a] and present[b])
        cv2.line(layers[solid], points[a], points[b], joint_color_bgr(joint_names[b]),
                 thickness, cv2.LINE_AA, shift=4)
    for index, point in enumerate(points):
        solid = bool(present[index])
        color = joint_color_bgr(joint_names[index])
        cv2.circle(layers[solid], point, radius * 16, color, -1 if solid else thickness,
                   cv2.LINE_AA, shift=4)
    faded = cv2.addWeighted(layers[False], FADED_ALPHA, image_bgr, 1.0 - FADED_ALPHA, 0.0)
    drawn = np.any(layers[True] != image_bgr, axis=2)
    faded[drawn] = layers[True][drawn]
    return faded
