"""SavedModel export with TF Serving signatures: encoded images in, keypoints out.

Layout (what TF Serving loads as is with ``--model_base_path=<out_dir>/<name>``)::

    <out_dir>/<name>/<version>/saved_model.pb
                              variables/
                              assets/joints.json

Versions are integers; a new export takes the next free one unless ``version`` is given,
and an existing version is never overwritten. The version folder appears atomically: the
model is written to a hidden temporary folder beside it (TF Serving ignores names that are
not integers) and renamed into place.

Signatures (``saved_model_cli show --dir ... --all`` lists them):

``serving_default``
    ``image_bytes``: (N,) string, encoded JPEG / PNG / GIF / BMP images of any size and
    channel count. The whole image is the person box.
    -> ``keypoints``: (N, K, 2) float32 ``(x, y)`` in original image pixels,
    ``scores``: (N, K) float32 heatmap maxima (low = joint probably absent, paper §5.2).
``with_box``
    ``image_bytes`` as above and ``box``: (N, 4) float32 ``x1, y1, x2, y2`` in image pixels
    per image; a row of four NaNs or four -1 means the whole image. Same outputs.
``heatmaps``
    ``images``: (N, S, S, 3) float32 RGB crops in [0, 1], S = the model's input size (256
    for the paper's model) -> ``stack_1`` ... ``stack_S``: (N, S/4, S/4, K) float32, every
    stack's heatmaps, for clients that crop themselves.

Signatures have no optional inputs (and TF Serving's REST API rejects an instance that
lacks one), so the box lives in its own signature rather than in ``serving_default``.

Inside ``serving_default`` / ``with_box`` the graph decodes each image, crops the box with
``transforms.crop_matrix`` + ``warp_image`` (``hg_keras.export.cropping``), runs the network
on the crop and its mirror image (flip test), averages the last stack's heatmaps, takes the
peaks with the quarter-pixel offset and maps them back to image pixels. Undecodable bytes,
an empty batch, or a box that is degenerate or outside the image fail that request with
``INVALID_ARGUMENT`` and a message naming the input; the server keeps running.

Joint names, the flip permutation and the crop settings travel with the model: in
``assets/joints.json`` and as the attributes ``joint_names``, ``flip_permutation`` and
``input_size`` of the loaded object.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from hg_keras.export.bn_folding import fold_batch_norm
from hg_keras.export.cropping import BOX_SCALE_PADDING, crop_person, decode_image_bytes
from hg_keras.export.inference import keypoints_from_crops, model_outputs

SERVING_DEFAULT = "serving_default"
WITH_BOX = "with_box"
HEATMAPS = "heatmaps"
METADATA_FILE = "joints.json"
TEMP_PREFIX = ".tmp-export-"


def model_sizes(model) -> tuple[int, int, int]:
    """``(input_size, heatmap_size, num_joints)`` of a square-input hourglass model."""
    _, height, width, channels = model.input_shape
    if height is None or height != width or channels != 3:
        raise ValueError(
            f"model {model.name!r}: input shape {model.input_shape} is not (None, S, S, 3); "
            "export needs a square RGB input of fixed size"
        )
    _, heatmap_height, _, num_joints = model.outputs[-1].shape
    return int(height), int(heatmap_height), int(num_joints)


def check_joint_count(model, info) -> None:
    """Raise ValueError when ``info`` names a different number of joints than ``model`` predicts."""
    _, _, num_joints = model_sizes(model)
    if num_joints != info.num_joints:
        raise ValueError(
            f"dataset {info.name!r} has {info.num_joints} joints but model {model.name!r} "
            f"predicts {num_joints} heatmaps; pass the dataset the model was trained on"
        )


def export_metadata(model, info, flip_test: bool) -> dict:
    """What a client needs to label and reproduce the outputs (written to ``joints.json``)."""
    input_size, heatmap_size, _ = model_sizes(model)
    return {
        "dataset": info.name,
        "joint_names": list(info.joint_names),
        "flip_permutation": [int(j) for j in info.flip_permutation],
        "input_size": input_size,
        "heatmap_size": heatmap_size,
        "num_stacks": len(model.outputs),
        "output_names": list(model.output_names),
        "flip_test": bool(flip_test),
        "box_scale_padding": BOX_SCALE_PADDING,
        "box_convention": "x1, y1, x2, y2 in image pixels, pixel centres at integers; "
        "crop centre = box centre, scale = max(w, h) * 1.25 / 200",
        "signatures": {
            SERVING_DEFAULT: "image_bytes -> keypoints, scores",
            WITH_BOX: "image_bytes, box -> keypoints, scores",
            HEATMAPS: "images -> " + ", ".join(model.output_names),
        },
    }


class PoseServingModule(tf.Module):
    """The object saved as the SavedModel: the (BN-folded) network plus serving functions.

    Args:
        model: a trained ``keras.Model`` from ``build_stacked_hourglass`` (or loaded).
        info: ``DatasetInfo`` with the model's joint names and flip permutation.
        flip_test: average with the mirrored crop's heatmaps (paper §3.4).
        fold_bn: fold BatchNormalization into the convolutions first (``fold_batch_norm``).

    Example:
        >>> module = PoseServingModule(model, MPII_INFO)
        >>> out = module.serve(tf.constant([open("person.jpg", "rb").read()]))
        >>> out["keypoints"].shape
        TensorShape([1, 16, 2])
    """

    def __init__(self, model, info, flip_test: bool = True, fold_bn: bool = True):
        super().__init__(name="hourglass_serving")
        check_joint_count(model, info)
        network = fold_batch_norm(model) if fold_bn else model
        # The Keras model is not a child of the SavedModel (saving it would trace all of its
        # Keras call paths); the variables its traced functions capture are (``signatures``).
        object.__setattr__(self, "network", network)
        self._input_size, self._heatmap_size, _ = model_sizes(model)
        self._output_names = list(self.network.output_names)
        self._permutation = [int(j) for j in info.flip_permutation] if flip_test else None
        self._metadata = export_metadata(model, info, flip_test)
        self.joint_names = tf.Variable(list(info.joint_names), trainable=False, dtype=tf.string)
        self.flip_permutation = tf.Variable(
            [int(j) for j in info.flip_permutation], trainable=False, dtype=tf.int32
        )
        self.input_size = tf.Variable(self._input_size, trainable=False, dtype=tf.int32)
        size = self._input_size
        # Only the signatures are saved. The functions sit in an untracked dict: as attributes
        # ``tf.saved_model.save`` would find them and trace each one a second time.
        functions = {
            "serve": tf.function(
                self._serve_whole_image,
                input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
                autograph=False,
            ),
            "serve_with_box": tf.function(
                self._serve_with_box,
                input_signature=[
                    tf.TensorSpec([None], tf.string, name="image_bytes"),
                    tf.TensorSpec([None, 4], tf.float32, name="box"),
                ],
                autograph=False,
            ),
            "heatmaps": tf.function(
                self._heatmaps,
                input_signature=[
                    tf.TensorSpec([None, size, size, 3], tf.float32, name="images")
                ],
                autograph=False,
            ),
        }
        object.__setattr__(self, "_functions", functions)

    @property
    def metadata(self) -> dict:
        """The content of ``assets/joints.json``."""
        return dict(self._metadata)

    def _crops(self, image_bytes, box):
        size, heatmap_size = self._input_size, self._heatmap_size

        def one(args):
            data, person_box = args
            image = decode_image_bytes(data)
            crop, from_heatmap, _ = crop_person(image, person_box, size, heatmap_size)
            return crop, from_heatmap

        return tf.map_fn(
            one,
            (image_bytes, box),
            fn_output_signature=(
                tf.TensorSpec([size, size, 3], tf.float32),
                tf.TensorSpec([3, 3], tf.float32),
            ),
        )

    def _predict(self, image_bytes, box):
        count = tf.size(image_bytes)
        checks = [
            tf.debugging.assert_positive(
                count, message="image_bytes: the batch is empty; send at least one image"
            ),
            tf.debugging.assert_equal(
                tf.shape(box)[0],
                count,
                message="box: need one (x1, y1, x2, y2) row per image in image_bytes",
            ),
        ]
        with tf.control_dependencies(checks):
            crops, from_heatmap = self._crops(image_bytes, box)
        keypoints, scores = keypoints_from_crops(
            self.network, crops, from_heatmap, self._permutation
        )
        return {"keypoints": keypoints, "scores": scores}

    def _serve_whole_image(self, image_bytes):
        box = tf.fill([tf.size(image_bytes), 4], float("nan"))
        # A call of the traced ``with_box`` function: the network graph is stored once.
        return self._functions["serve_with_box"](image_bytes, box)

    def _serve_with_box(self, image_bytes, box):
        return self._predict(image_bytes, box)

    def _heatmaps(self, images):
        outputs = model_outputs(self.network, images)
        return {name: tf.cast(h, tf.float32) for name, h in zip(self._output_names, outputs)}

    def serve(self, image_bytes):
        """``serving_default``: (N,) encoded images -> dict: keypoints (N, K, 2), scores (N, K)."""
        return self._functions["serve"](image_bytes)

    def serve_with_box(self, image_bytes, box):
        """``with_box``: (N,) encoded images, (N, 4) boxes -> keypoints, scores."""
        return self._functions["serve_with_box"](image_bytes, box)

    def heatmaps(self, images):
        """``heatmaps``: (N, S, S, 3) crops -> dict of every stack's (N, S/4, S/4, K) heatmaps."""
        return self._functions["heatmaps"](images)

    def signatures(self) -> dict:
        """Concrete functions keyed by signature name, for ``tf.saved_model.save``.

        Also tracks the ``tf.Variable`` objects the functions capture. Tracking the Keras
        variable wrappers instead would save a model that TF loads but the TFLite converter
        reads as uninitialised variables.
        """
        concrete = {
            SERVING_DEFAULT: self._functions["serve"].get_concrete_function(),
            WITH_BOX: self._functions["serve_with_box"].get_concrete_function(),
            HEATMAPS: self._functions["heatmaps"].get_concrete_function(),
        }
        captured = {}
        for function in concrete.values():
            for variable in function.variables:
                captured.setdefault(id(variable), variable)
        self.network_variables = list(captured.values())
        return concrete


def existing_versions(base_dir) -> list[int]:
    """Integer-named version folders under ``base_dir`` (TF Serving's notion), sorted."""
    base_dir = Path(base_dir)
    if not base_dir.is_dir():
        return []
    return sorted(int(p.name) for p in base_dir.iterdir() if p.name.isdigit() and p.is_dir())


def next_version(base_dir) -> int:
    """The next free version number under ``base_dir``: one more than the largest, or 1."""
    versions = existing_versions(base_dir)
    return versions[-1] + 1 if versions else 1


def write_version_atomically(base_dir, version, write) -> Path:
    """Call ``write(temp_dir)`` and rename the result to ``base_dir/<version>``.

    Args:
        base_dir: the model's base folder (created if missing).
        version: a positive int, or None for ``next_version(base_dir)``; when None and a
            concurrent writer takes the chosen number first, the next one is tried.
        write: callable filling an empty folder it is given.

    Returns:
        The final version folder.

    Raises:
        FileExistsError: an explicit ``version`` already exists.
    """
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    if version is not None:
        version = int(version)
        if version < 1:
            raise ValueError(f"--version {version}: versions are integers >= 1")
        if (base_dir / str(version)).exists():
            raise FileExistsError(
                f"{base_dir / str(version)} already exists; versions are never overwritten "
                "(omit --version to take the next free one)"
            )
    temp_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=base_dir))
    try:
        write(temp_dir)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_dir, 0o777 & ~umask)  # mkdtemp makes it private; exports are not
        chosen = version if version is not None else next_version(base_dir)
        while True:
            target = base_dir / str(chosen)
            if not target.exists():
                try:
                    os.rename(temp_dir, target)
                    return target
                except OSError:
                    if not target.exists():
                        raise
            if version is not None:
                raise FileExistsError(
                    f"{target} was created while exporting; versions are never overwritten"
                )
            chosen += 1
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise


def save_serving_module(module: PoseServingModule, path) -> None:
    """Write ``module`` as a SavedModel with its three signatures and ``assets/joints.json``."""
    with tempfile.TemporaryDirectory() as scratch:
        metadata_path = Path(scratch) / METADATA_FILE
        metadata_path.write_text(json.dumps(module.metadata, indent=2) + "\n")
        module.metadata_file = tf.saved_model.Asset(str(metadata_path))
        tf.saved_model.save(module, str(path), signatures=module.signatures())


def export_saved_model(
    model,
    info,
    out_dir="saved_models",
    name: str = "hourglass",
    version: int | None = None,
    flip_test: bool = True,
    fold_bn: bool = True,
) -> Path:
    """Export ``model`` as a versioned SavedModel that TF Serving loads as is.

    Args:
        model: trained ``keras.Model`` (square input S x S x 3, outputs S/4 x S/4 x K).
        info: ``DatasetInfo`` whose joints match the model's K heatmaps.
        out_dir: root of all exports.
        name: model name; the SavedModel goes to ``out_dir/name/version``.
        version: int >= 1, or None for the next free version.
        flip_test: include the flip test in ``serving_default`` / ``with_box``.
        fold_bn: fold BatchNormalization into the convolutions (same outputs, faster).

    Returns:
        Path of the new version folder.

    Raises:
        ValueError: K differs between ``model`` and ``info``.
        FileExistsError: ``version`` exists already.

    Example:
        >>> model = keras.saving.load_model("runs/mpii/best.keras")
        >>> export_saved_model(model, MPII_INFO)
        PosixPath('saved_models/hourglass/1')
    """
    module = PoseServingModule(model, info, flip_test=flip_test, fold_bn=fold_bn)
    return write_version_atomically(
        Path(out_dir) / name, version, lambda path: save_serving_module(module, path)
    )
