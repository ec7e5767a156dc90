"""The canonical per-person record every dataset source converts to.

Records are a ``pandas.DataFrame`` with one row per person and these columns:

============== ====================================================================
column         meaning
============== ====================================================================
image          str, path of the image file
center         (2,) float64, crop centre (x, y) in image pixels
scale          float, crop box side / 200 (box side = 200 * scale pixels)
joints         (K, 2) float64, joint positions (x, y) in image pixels
annotated      (K,) bool, the joint has a label (False: missing, not counted anywhere)
visible        (K,) bool, the joint is annotated and not occluded
norm_size      float, the PCK normaliser (head size for MPII, torso size for FLIC); NaN
               when the source does not provide it (such people cannot be scored)
split          str, "train" / "valid" / "test"
image_index    int, index of the image in its source annotation file
person_index   int, index of the person within that image
============== ====================================================================

Coordinates follow ``hg_keras.data.transforms`` (x right, y down, pixel centres at integers).
Joints that are not annotated hold ``(0, 0)``; consumers must use ``annotated`` (never the
coordinates) to tell missing joints apart. Sources may add columns (e.g. ``head_box``).

On disk, records are JSON Lines (``write_jsonl`` / ``read_jsonl``: one person per line, human
readable) or sharded TFRecords (``write_tfrecords`` / ``read_tfrecords``) for large or remote
data; both accept ``gs://``-style paths through ``tf.io.gfile``. Image paths are stored
relative to the annotation file when the image lies below it, and resolved to absolute paths
on reading.

Example:
    >>> records = read_jsonl("datasets/synthetic/annotations.jsonl")   # doctest: +SKIP
    >>> train = select_split(records, "train")                         # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

RECORD_COLUMNS = (
    "image",
    "center",
    "scale",
    "joints",
    "annotated",
    "visible",
    "norm_size",
    "split",
    "image_index",
    "person_index",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a metric need to know about a dataset's joints.

    Attributes:
        name: dataset name, e.g. ``"mpii"``.
        joint_names: K joint names, in the order of the heatmap channels.
        flip_permutation: for each joint, the index of its mirror joint (left <-> right).
        metric: ``"pckh"`` (normalised by head size) or ``"pck"`` (by torso size).
        threshold: the metric's default threshold (0.5 for PCKh, 0.2 for PCK).

    Example:
        >>> MPII_INFO.num_joints
        16
    """

    name: str
    joint_names: tuple
    flip_permutation: tuple
    metric: str
    threshold: float

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)


MPII_INFO = DatasetInfo(
    name="mpii",
    joint_names=(
        "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
        "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
        "l_elbow", "l_wrist",
    ),
    flip_permutation=(5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10),
    metric="pckh",
    threshold=0.5,
)

FLIC_INFO = DatasetInfo(
    name="flic",
    joint_names=(
        "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist", "l_hip",
        "r_hip", "l_eye", "r_eye", "nose",
    ),
    flip_permutation=(3, 4, 5, 0, 1, 2, 7, 6, 9, 8, 10),
    metric="pck",
    threshold=0.2,
)


SPLITS = ("train", "valid", "test")
_ARRAY_COLUMNS = {"center": (2,), "joints": None, "annotated": None, "visible": None}


class AnnotationError(ValueError):
    """An annotation file or record is malformed; the message names the file and the field."""


def info_to_dict(info: DatasetInfo) -> dict:
    """``DatasetInfo`` as a JSON-friendly dict (lists instead of tuples)."""
    data = asdict(info)
    data["joint_names"] = list(info.joint_names)
    data["flip_permutation"] = list(info.flip_permutation)
    return data


def info_from_dict(data: dict) -> DatasetInfo:
    """Inverse of ``info_to_dict``."""
    return DatasetInfo(
        name=str(data["name"]),
        joint_names=tuple(str(n) for n in data["joint_names"]),
        flip_permutation=tuple(int(i) for i in data["flip_permutation"]),
        metric=str(data["metric"]),
        threshold=float(data["threshold"]),
    )


def flip_permutation_from_names(joint_names, source: str = "joint_names") -> tuple:
    """Mirror permutation from left/right joint names.

    Recognises ``left_*``/``right_*``, ``l_*``/``r_*``, ``*_left``/``*_right`` and
    ``*_l``/``*_r`` (case-insensitive, ``_``, ``-``, ``.`` or space as separator); joints
    without a side map to themselves.

    Args:
        joint_names: K joint names.
        source: what to name in error messages.

    Returns:
        tuple of K ints.

    Raises:
        AnnotationError: a sided joint has no mirror partner, or names repeat.

    Example:
        >>> flip_permutation_from_names(["nose", "left_eye", "right_eye"])
        (0, 2, 1)
    """
    names = [str(n) for n in joint_names]
    keys = [n.lower().replace("-", "_").replace(".", "_").replace(" ", "_") for n in names]
    if len(set(keys)) != len(keys):
        raise AnnotationError(f"{source}: joint names repeat: {names}")
    sides = {"left": "right", "right": "left", "l": "r", "r": "l"}

    def mirror(key):
        head, _, rest = key.partition("_")
        if rest and head in sides:
            return f"{sides[head]}_{rest}"
        stem, _, tail = key.rpartition("_")
        if stem and tail in sides:
            return f"{stem}_{sides[tail]}"
        return None

    index = {k: i for i, k in enumerate(keys)}
    permutation = []
    for i, key in enumerate(keys):
        partner = mirror(key)
        if partner is None:
            permutation.append(i)
        elif partner in index:
            permutation.append(index[partner])
        else:
            raise AnnotationError(
                f"{source}: joint {names[i]!r} has no mirror joint {partner!r}; "
                "pass flip pairs explicitly"
            )
    return tuple(permutation)


def make_records(rows, source: str = "records", skip_bad: bool = False) -> pd.DataFrame:
    """Build a records DataFrame from an iterable of per-person dicts and check it.

    Args:
        rows: iterable of dicts with at least the ``RECORD_COLUMNS`` keys (extra keys kept).
        source: file or dataset name used in error messages.
        skip_bad: drop malformed rows (logging their count and reasons) instead of raising.

    Returns:
        records DataFrame (arrays as float64 / bool NumPy arrays, one row per person).

    Raises:
        AnnotationError: a field is missing or malformed (see ``check_records``).

    Example:
        >>> records = make_records([dict(image="a.jpg", center=[5, 5], scale=1.0,
        ...     joints=[[1, 2]], annotated=[True], visible=[True], norm_size=3.0,
        ...     split="train", image_index=0, person_index=0)])
        >>> records.joints[0].shape
        (1, 2)
    """
    coerced, bad = [], []
    for n, row in enumerate(rows):
        try:
            coerced.append(coerce_row(row, source, n))
        except AnnotationError as error:
            if not skip_bad:
                raise
            bad.append(str(error))
    if bad:
        logger.warning("%s: skipped %d bad record(s): %s", source, len(bad), "; ".join(bad))
    if not coerced:
        return empty_records()
    frame = pd.DataFrame(coerced)
    frame = frame[list(RECORD_COLUMNS) + [c for c in frame.columns if c not in RECORD_COLUMNS]]
    return check_records(frame, source, skip_bad=skip_bad)


def empty_records() -> pd.DataFrame:
    """A records DataFrame with the schema's columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in RECORD_COLUMNS})


def _none_to_nan(value):
    if value is None:
        return np.nan
    if isinstance(value, (list, tuple)):
        return [_none_to_nan(v) for v in value]
    return value


def _float_array(value, shape, where, field):
    try:
        array = np.asarray(_none_to_nan(value), dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as error:
        raise AnnotationError(f"{where} field {field!r} is not numeric ({error})") from None
    if shape is not None and array.shape != shape:
        raise AnnotationError(
            f"{where} field {field!r} has shape {array.shape}, expected {shape}"
        )
    return array


def coerce_row(row, source: str = "records", n: int = 0) -> dict:
    """One record dict with schema types (float64 / bool arrays, float, int, str).

    Raises:
        AnnotationError: a field is missing or cannot be converted (names source, record
            ``n`` and the field).
    """
    where = f"{source}: record {n}"
    if not isinstance(row, dict):
        raise AnnotationError(f"{where} is {type(row).__name__}, expected an object")
    missing = [c for c in RECORD_COLUMNS if c not in row]
    if missing:
        raise AnnotationError(f"{where} lacks field(s) {missing}")
    out = dict(row)
    out["center"] = _float_array(row["center"], (2,), where, "center")
    out["joints"] = _float_array(row["joints"], None, where, "joints")
    for field in ("annotated", "visible"):
        value = row[field]
        try:
            array = np.asarray(value)
            if array.dtype.kind not in "biu" or array.ndim != 1:
                raise TypeError(f"dtype {array.dtype}, ndim {array.ndim}")
        except (TypeError, ValueError) as error:
            raise AnnotationError(
                f"{where} field {field!r} must be a list of booleans ({error})"
            ) from None
        out[field] = array.astype(bool)
    for field, kind in (("scale", float), ("norm_size", float), ("image_index", int),
                        ("person_index", int)):
        value = row[field]
        try:
            if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0:
                raise TypeError(f"got {value!r}")
            out[field] = kind(np.nan if value is None else value)
        except (TypeError, ValueError, OverflowError) as error:
            raise AnnotationError(f"{where} field {field!r} is not a number ({error})") from None
    for field in ("image", "split"):
        if not isinstance(row[field], str):
            raise AnnotationError(f"{where} field {field!r} must be a string")
    return out


def check_records(records: pd.DataFrame, source: str = "records", num_joints=None,
                  skip_bad: bool = False) -> pd.DataFrame:
    """Check every record against the schema.

    Args:
        records: records DataFrame.
        source: file or dataset name used in error messages.
        num_joints: expected K (default: K of the first record).
        skip_bad: drop bad records (logging their count and reasons) instead of raising.

    Returns:
        the records (without the bad ones when ``skip_bad``).

    Raises:
        AnnotationError: naming ``source``, the record and the field, e.g.
            ``"a.jsonl: record 3 (image 7, person 0) has scale -1.0; scale must be > 0"``.
    """
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise AnnotationError(f"{source}: records lack column(s) {missing}")
    problems = []
    for n, row in enumerate(records.itertuples(index=False)):
        reason = _record_problem(row, num_joints)
        if reason is None and num_joints is None:
            num_joints = len(row.joints)
        if reason is not None:
            problems.append(
                (n, f"record {n} (image {row.image_index}, person {row.person_index}) {reason}")
            )
    if not problems:
        return records
    if not skip_bad:
        raise AnnotationError(f"{source}: {problems[0][1]}")
    logger.warning("%s: skipped %d bad record(s): %s", source, len(problems),
                   "; ".join(p for _, p in problems))
    bad = [n for n, _ in problems]
    return records.drop(index=records.index[bad]).reset_index(drop=True)


def _record_problem(row, num_joints):
    joints = np.asarray(row.joints)
    if joints.ndim != 2 or joints.shape[1] != 2:
        return f"has joints of shape {joints.shape}; joints must be (K, 2)"
    k = joints.shape[0]
    if num_joints is not None and k != num_joints:
        return f"has {k} joints; expected {num_joints}"
    for field in ("annotated", "visible"):
        if np.shape(getattr(row, field)) != (k,):
            return f"has {field} of shape {np.shape(getattr(row, field))}; expected ({k},)"
    if np.any(np.asarray(row.visible) & ~np.asarray(row.annotated)):
        return "has visible joints that are not annotated"
    if not np.all(np.isfinite(joints[np.asarray(row.annotated)])):
        return "has non-finite coordinates for annotated joints"
    if not np.all(np.isfinite(row.center)):
        return f"has center {list(row.center)}; center must be finite"
    if not (math.isfinite(row.scale) and row.scale > 0):
        return f"has scale {row.scale}; scale must be > 0"
    if not math.isnan(row.norm_size) and not (math.isfinite(row.norm_size)
                                              and row.norm_size > 0):
        return f"has norm_size {row.norm_size}; norm_size must be > 0 (or NaN: unknown)"
    if row.split not in SPLITS:
        return f"has split {row.split!r}; split must be one of {SPLITS}"
    if not row.image:
        return "has an empty image path"
    return None


def select_split(records: pd.DataFrame, split, source: str = "records") -> pd.DataFrame:
    """Rows of one split (or several: a list), re-indexed from 0.

    Raises:
        AnnotationError: unknown split name, or no records in that split.

    Example:
        >>> valid = select_split(records, "valid")   # doctest: +SKIP
    """
    splits = [split] if isinstance(split, str) else list(split)
    for name in splits:
        if name not in SPLITS:
            raise AnnotationError(f"{source}: split {name!r} is not one of {SPLITS}")
    chosen = records[records["split"].isin(splits)].reset_index(drop=True)
    if chosen.empty:
        present = sorted(set(records["split"])) if len(records) else []
        raise AnnotationError(
            f"{source}: split {split!r} has no records (splits present: {present or 'none'})"
        )
    return chosen


def fill_missing_joints(joints, annotated):
    """Return joints with not-annotated rows set to (0, 0) (float64 copy)."""
    joints = np.array(joints, dtype=np.float64)
    joints[~np.asarray(annotated, bool)] = 0.0
    return joints


# --- files -------------------------------------------------------------------------------

def _is_remote(path) -> bool:
    return "://" in str(path)


def _open(path, mode):
    if _is_remote(path):
        import tensorflow as tf

        return tf.io.gfile.GFile(str(path), mode)
    if "w" in mode:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, mode, encoding=None if "b" in mode else "utf-8")


def _parent(path) -> str:
    text = str(path)
    if _is_remote(text):
        return text.rsplit("/", 1)[0]
    return os.path.dirname(os.path.abspath(text))


def _relative_image(image: str, base: str) -> str:
    if _is_remote(image) or _is_remote(base) or not os.path.isabs(image):
        return image
    base = os.path.abspath(base)
    image = os.path.abspath(image)
    if not image.startswith(base.rstrip(os.sep) + os.sep):
        return image
    return Path(os.path.relpath(image, base)).as_posix()


def resolve_image(image: str, root) -> str:
    """Absolute image path: ``image`` itself when absolute or remote, else ``root / image``."""
    if _is_remote(image) or os.path.isabs(image):
        return image
    if _is_remote(root):
        return f"{str(root).rstrip('/')}/{image}"
    return os.path.abspath(os.path.join(root, image))


def _json_value(value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_jsonl(records: pd.DataFrame, path, info: DatasetInfo | None = None) -> str:
    """Write records as JSON Lines, one person per line.

    Image paths below the file's folder are stored relative to it. When ``info`` is given a
    ``<stem>.info.json`` file is written beside it.

    Args:
        records: records DataFrame.
        path: output ``.jsonl`` path (local or ``gs://...``).
        info: optional dataset metadata to store alongside.

    Returns:
        the path written, as a string.

    Example:
        >>> write_jsonl(records, "datasets/mine/annotations.jsonl")   # doctest: +SKIP
    """
    base = _parent(path)
    with _open(path, "w") as f:
        for row in records.to_dict(orient="records"):
            row = {k: _json_value(v) for k, v in row.items()}
            row["image"] = _relative_image(str(row["image"]), base)
            f.write(json.dumps(row, separators=(", ", ": ")) + "\n")
    if info is not None:
        write_info(info, info_path(path))
    return str(path)


def info_path(path) -> str:
    """The ``<stem>.info.json`` path stored beside an annotation file."""
    text = str(path)
    stem = text.rsplit(".", 1)[0] if "." in text.rsplit("/", 1)[-1] else text
    return stem + ".info.json"


def write_info(info: DatasetInfo, path) -> None:
    """Write ``DatasetInfo`` as JSON."""
    with _open(path, "w") as f:
        json.dump(info_to_dict(info), f, indent=1)


def read_info(path) -> DatasetInfo:
    """Read ``DatasetInfo`` written by ``write_info``."""
    with _open(path, "r") as f:
        try:
            return info_from_dict(json.load(f))
        except (KeyError, TypeError, ValueError) as error:
            raise AnnotationError(f"{path}: not a dataset info file ({error})") from None


def read_jsonl(path, split=None, image_root=None, skip_bad: bool = False) -> pd.DataFrame:
    """Read records written by ``write_jsonl``.

    Args:
        path: ``.jsonl`` path (local or ``gs://...``).
        split: optional split name (or list) to keep; an empty selection raises.
        image_root: folder that relative image paths are resolved against
            (default: the file's folder).
        skip_bad: drop malformed records (logged with a count) instead of raising.

    Returns:
        records DataFrame with absolute image paths.

    Raises:
        AnnotationError: a line is not JSON or a record is malformed (names file, line, field).
        FileNotFoundError: the file does not exist.

    Example:
        >>> records = read_jsonl(
        ...     "datasets/synthetic/annotations.jsonl", split="valid")  # doctest: +SKIP
    """
    source = str(path)
    rows = []
    bad = []
    with _open(path, "r") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                message = f"{source}: line {line_number}: not JSON ({error})"
                if not skip_bad:
                    raise AnnotationError(message) from None
                bad.append(message)
                continue
            try:
                row = coerce_row(row, f"{source}: line {line_number}", len(rows))
                problem = _record_problem(SimpleNamespace(**row), None)
                if problem is not None:
                    raise AnnotationError(f"{source}: line {line_number}: record {problem}")
            except AnnotationError as error:
                if not skip_bad:
                    raise
                bad.append(str(error))
                continue
            rows.append(row)
    if bad:
        logger.warning("%s: skipped %d bad line(s): %s", source, len(bad), "; ".join(bad))
    records = make_records(rows, source, skip_bad=skip_bad)
    root = image_root if image_root is not None else _parent(path)
    records["image"] = [resolve_image(img, root) for img in records["image"]]
    if split is not None:
        records = select_split(records, split, source)
    return records


def validate_images(records: pd.DataFrame, decode: bool = False, skip_bad: bool = False,
                    source: str = "records"):
    """Check that every record's image exists (and, with ``decode``, that it decodes).

    Args:
        records: records DataFrame.
        decode: also read each distinct image with OpenCV to catch corrupt files.
        skip_bad: return the records without the bad ones (logging a count and the list)
            instead of raising.
        source: dataset name used in messages.

    Returns:
        the records (all of them, or the good ones when ``skip_bad``).

    Raises:
        FileNotFoundError: images are missing (the message names them, up to 10).
        AnnotationError: images cannot be decoded (the message names them).

    Example:
        >>> validate_images(records, decode=True)   # doctest: +SKIP
    """
    missing, corrupt = [], []
    checked = {}
    for image in records["image"]:
        if image in checked:
            continue
        ok_exists = _exists(image)
        status = "ok"
        if not ok_exists:
            status = "missing"
        elif decode and not _decodes(image):
            status = "corrupt"
        checked[image] = status
        if status == "missing":
            missing.append(image)
        elif status == "corrupt":
            corrupt.append(image)
    if not missing and not corrupt:
        return records
    if skip_bad:
        logger.warning("%s: skipped %d missing and %d corrupt image(s): %s", source,
                       len(missing), len(corrupt), missing + corrupt)
        keep = [checked[i] == "ok" for i in records["image"]]
        return records[keep].reset_index(drop=True)
    if missing:
        raise FileNotFoundError(
            f"{source}: {len(missing)} image file(s) missing, e.g. {missing[:10]}"
        )
    raise AnnotationError(f"{source}: {len(corrupt)} image file(s) cannot be decoded: "
                          f"{corrupt[:10]}")


def _exists(path: str) -> bool:
    if _is_remote(path):
        import tensorflow as tf

        return tf.io.gfile.exists(path)
    return os.path.isfile(path)


def _decodes(path: str) -> bool:
    import cv2

    with _open(path, "rb") as f:
        data = np.frombuffer(f.read(), np.uint8)
    if data.size == 0:
        return False
    return cv2.imdecode(data, cv2.IMREAD_COLOR) is not None


# --- sharded TFRecords ----------------------------------------------------------------

TFRECORD_SUFFIX = ".tfrecord"


def shard_paths(prefix, num_shards: int) -> list:
    """``<prefix>-00000-of-0000N.tfrecord`` names of ``num_shards`` shards."""
    return [f"{prefix}-{i:05d}-of-{num_shards:05d}{TFRECORD_SUFFIX}" for i in range(num_shards)]


def write_tfrecords(records: pd.DataFrame, prefix, num_shards: int = 1,
                    embed_images: bool = False) -> list:
    """Write records as sharded TFRecord files of ``tf.train.Example`` (one per person).

    Features: ``image`` (path, relative to the shards' folder when below it), ``center``
    (2 floats), ``scale``, ``joints`` (2K floats, x y interleaved), ``annotated`` and
    ``visible`` (K ints), ``norm_size``, ``split``, ``image_index``, ``person_index``, and
    with ``embed_images`` the encoded file bytes as ``image/encoded``. Other columns are not
    written.

    Args:
        records: records DataFrame.
        prefix: shard path prefix, local or ``gs://bucket/dir/name``.
        num_shards: number of files; person ``n`` goes to shard ``n % num_shards``.
        embed_images: also store each image's bytes (for remote training data).

    Returns:
        list of the shard paths written.

    Example:
        >>> write_tfrecords(records, "gs://bucket/mpii/train", num_shards=16)  # doctest: +SKIP
    """
    import tensorflow as tf

    if num_shards < 1:
        raise ValueError(f"num_shards: {num_shards}; must be >= 1")
    paths = shard_paths(prefix, num_shards)
    base = _parent(paths[0])
    if not _is_remote(base):
        Path(base).mkdir(parents=True, exist_ok=True)
    writers = [tf.io.TFRecordWriter(p) for p in paths]
    try:
        for n, row in enumerate(records.itertuples(index=False)):
            features = {
                "image": _bytes_feature(_relative_image(row.image, base).encode()),
                "center": _float_feature(row.center),
                "scale": _float_feature([row.scale]),
                "joints": _float_feature(np.asarray(row.joints).ravel()),
                "annotated": _int_feature(np.asarray(row.annotated, np.int64)),
                "visible": _int_feature(np.asarray(row.visible, np.int64)),
                "norm_size": _float_feature([row.norm_size]),
                "split": _bytes_feature(row.split.encode()),
                "image_index": _int_feature([row.image_index]),
                "person_index": _int_feature([row.person_index]),
            }
            if embed_images:
                with _open(row.image, "rb") as f:
                    features["image/encoded"] = _bytes_feature(f.read())
            example = tf.train.Example(features=tf.train.Features(feature=features))
            writers[n % num_shards].write(example.SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    return paths


def _bytes_feature(value):
    import tensorflow as tf

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _float_feature(values):
    import tensorflow as tf

    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))


def _int_feature(values):
    import tensorflow as tf

    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def read_tfrecords(pattern, split=None) -> pd.DataFrame:
    """Read records from TFRecord shards written by ``write_tfrecords``.

    Args:
        pattern: a shard path or glob, e.g. ``"gs://bucket/mpii/train-*.tfrecord"``.
        split: optional split to keep (an empty selection raises).

    Returns:
        records DataFrame (image paths resolved against the shards' folder; coordinates
        come back as float32-rounded float64).

    Raises:
        FileNotFoundError: no file matches.
        AnnotationError: a record is malformed (names the shard).

    Example:
        >>> train = read_tfrecords("datasets/mpii/tfrecords/train-*.tfrecord")  # doctest: +SKIP
    """
    import tensorflow as tf

    paths = sorted(tf.io.gfile.glob(str(pattern)))
    if not paths:
        raise FileNotFoundError(f"{pattern}: no TFRecord files match")
    rows = []
    for path in paths:
        base = _parent(path)
        try:
            for serialized in tf.data.TFRecordDataset(path).as_numpy_iterator():
                rows.append(_example_to_row(tf.train.Example.FromString(serialized), base))
        except (tf.errors.DataLossError, KeyError, IndexError, ValueError) as error:
            raise AnnotationError(f"{path}: malformed TFRecord ({error})") from None
    records = make_records(rows, source=str(pattern))
    if split is not None:
        records = select_split(records, split, source=str(pattern))
    return records


def _example_to_row(example, base: str) -> dict:
    feature = example.features.feature

    def floats(name):
        return np.asarray(feature[name].float_list.value, dtype=np.float64)

    def ints(name):
        return np.asarray(feature[name].int64_list.value, dtype=np.int64)

    image = feature["image"].bytes_list.value[0].decode()
    return {
        "image": resolve_image(image, base),
        "center": floats("center"),
        "scale": float(floats("scale")[0]),
        "joints": floats("joints").reshape(-1, 2),
        "annotated": ints("annotated").astype(bool),
        "visible": ints("visible").astype(bool),
        "norm_size": float(floats("norm_size")[0]),
        "split": feature["split"].bytes_list.value[0].decode(),
        "image_index": int(ints("image_index")[0]),
        "person_index": int(ints("person_index")[0]),
    }
