"""Shared export fixtures: the hand-set disc model, its SavedModel, and real image files.

Every artefact is built once per test session (exports take seconds each).
"""

import cv2
import numpy as np
import pytest
from disc_model import DISC_INFO, build_disc_model, draw_discs

INPUT_SIZE = 64
HEATMAP_SIZE = INPUT_SIZE // 4


def disc_radius_for(height, width):
    """Disc radius (image px) that becomes the 3 px template radius in the whole-image crop."""
    return max(height, width) * 1.25 / INPUT_SIZE * 3.0


def image_px_per_heatmap_px(height, width):
    """Size of one heatmap pixel in image pixels for a whole-image crop."""
    return max(height, width) * 1.25 / HEATMAP_SIZE


@pytest.fixture(scope="session")
def disc_model():
    return build_disc_model(INPUT_SIZE)


@pytest.fixture(scope="session")
def disc_info():
    return DISC_INFO


@pytest.fixture(scope="session")
def disc_predictor(disc_model, disc_info):
    """``PosePredictor`` on the (unfolded) Keras disc model, flip test on."""
    from hg_keras.export.predictor import PosePredictor

    return PosePredictor(disc_model, disc_info)


@pytest.fixture(scope="session")
def disc_photo(tmp_path_factory):
    """A real 160x120 JPEG of four discs, its pixels as decoded, and the disc centres."""
    rng = np.random.default_rng(7)
    height, width = 120, 160
    image, centers = draw_discs(rng, height, width, disc_radius_for(height, width))
    path = tmp_path_factory.mktemp("photo") / "discs.jpg"
    assert cv2.imwrite(str(path), image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    return {"path": path, "bytes": path.read_bytes(), "image": image, "centers": centers}


@pytest.fixture(scope="session")
def saved_model_dir(disc_model, disc_info, tmp_path_factory):
    """The disc model exported once as ``<tmp>/hourglass/1``."""
    from hg_keras.export.saved_model import export_saved_model

    out_dir = tmp_path_factory.mktemp("exports")
    return export_saved_model(disc_model, disc_info, out_dir=out_dir, name="hourglass")


@pytest.fixture(scope="session")
def loaded_saved_model(saved_model_dir):
    import tensorflow as tf

    return tf.saved_model.load(str(saved_model_dir))
