"""One entry point from a dataset name to records: ``load_dataset(spec, split, root)``.

Specs and where their files live under ``root`` (default ``datasets/``):

=================== ===========================================================================
spec                files
=================== ===========================================================================
``synthetic``       ``root/synthetic/`` (generated on first use by ``synthetic.ensure``)
``flic``            ``root/flic/examples.mat`` and ``root/flic/images/*.jpg``
``mpii``            ``root/mpii/annot/{train,valid,test}.h5`` or
                    ``root/mpii/mpii_human_pose_v1_u12_1.mat`` or
                    ``root/mpii/mpii_annotations.json``, and ``root/mpii/images/*.jpg``
``coco:PATH``       a COCO keypoints JSON (images resolved against its folder)
=================== ===========================================================================

Example:
    >>> records, info = load_dataset("synthetic", "valid")     # doctest: +SKIP
    >>> info.metric, info.num_joints                           # doctest: +SKIP
    ('pckh', 16)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hg_keras.datasets.records import FLIC_INFO, MPII_INFO, DatasetInfo

DOWNLOADABLE = ("flic", "mpii")

# Candidate MPII annotation files, in order of preference (relative to root/mpii).
MPII_H5_DIR = "annot"
MPII_MAT_CANDIDATES = (
    "mpii_human_pose_v1_u12_1.mat",
    "mpii_human_pose_v1_u12_2/mpii_human_pose_v1_u12_1.mat",
    "annot/mpii_human_pose_v1_u12_1.mat",
)
MPII_JSON_CANDIDATES = ("mpii_annotations.json", "annot/mpii_annotations.json")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not where ``load_dataset`` looks; the message says what to place."""


def _not_found(name: str, root: Path, what: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{name} dataset not found under {root}: {what}. "
        f"Run `python scripts/download.py {name} --root {root.parent}` "
        f"or place the files by hand (see datasets/README.md)."
    )


def dataset_info(spec: str, root="datasets") -> DatasetInfo:
    """Joint names, flip permutation and metric of a dataset spec.

    Args:
        spec: ``"flic"``, ``"mpii"``, ``"synthetic"`` or ``"coco:PATH"``.
        root: dataset root (unused except for specs that need files).

    Returns:
        ``DatasetInfo``.

    Example:
        >>> dataset_info("flic").metric
        'pck'
    """
    name, _, path = spec.partition(":")
    name = name.lower()
    if name == "flic":
        return FLIC_INFO
    if name == "mpii":
        return MPII_INFO
    if name == "synthetic":
        from hg_keras.datasets.synthetic import SYNTHETIC_INFO

        return SYNTHETIC_INFO
    if name == "coco":
        from hg_keras.datasets import custom

        return custom.info_from_coco(_coco_path(spec, path))
    raise ValueError(
        f"dataset spec {spec!r}: unknown; use 'flic', 'mpii', 'synthetic' or 'coco:PATH'"
    )


def _coco_path(spec: str, path: str) -> Path:
    if not path:
        raise ValueError(f"dataset spec {spec!r}: give the COCO JSON path as 'coco:PATH'")
    if not Path(path).is_file():
        raise DatasetNotFoundError(
            f"dataset spec {spec!r}: COCO keypoints file {path} does not exist"
        )
    return Path(path)


def find_mpii_annotations(mpii_dir: Path, split: str) -> Path | None:
    """The MPII annotation file that serves ``split`` under ``mpii_dir`` (None if none)."""
    h5 = mpii_dir / MPII_H5_DIR / f"{split}.h5"
    if h5.is_file():
        return h5
    for candidate in MPII_MAT_CANDIDATES:
        if (mpii_dir / candidate).is_file():
            return mpii_dir / candidate
    if split != "test":  # the community JSON has training images only
        for candidate in MPII_JSON_CANDIDATES:
            if (mpii_dir / candidate).is_file():
                return mpii_dir / candidate
    return None


def load_dataset(spec: str, split: str, root="datasets", require_images: bool = True,
                 **options) -> tuple[pd.DataFrame, DatasetInfo]:
    """Records and metadata of one split of a dataset.

    Args:
        spec: ``"flic"``, ``"mpii"``, ``"synthetic"`` or ``"coco:PATH"``.
        split: ``"train"``, ``"valid"`` or ``"test"`` (FLIC: ``"train"`` / ``"test"``).
        root: folder holding one sub-folder per dataset.
        require_images: raise ``DatasetNotFoundError`` when the images folder is absent
            (FLIC, MPII).
        **options: passed to the source's loader (e.g. ``observer_centric=False`` for FLIC,
            ``num_images`` / ``seed`` for synthetic, ``flip_pairs`` / ``valid_fraction``
            for COCO).

    Returns:
        ``(records, info)``: records with absolute image paths and ``DatasetInfo``.

    Raises:
        DatasetNotFoundError: files missing; the message names them and the download command.
        ValueError: unknown spec.

    Example:
        >>> records, info = load_dataset("flic", "test", root="datasets")   # doctest: +SKIP
    """
    root = Path(root)
    name, _, path = spec.partition(":")
    name = name.lower()
    if name == "synthetic":
        from hg_keras.datasets import synthetic

        folder = synthetic.ensure(root / "synthetic", **options)
        return synthetic.load(folder, split=split), synthetic.SYNTHETIC_INFO
    if name == "flic":
        folder = root / "flic"
        annotations = folder / "examples.mat"
        if not annotations.is_file():
            raise _not_found("flic", folder, f"expected {annotations} (from FLIC.zip)")
        _check_images(folder / "images", "flic", folder, require_images)
        from hg_keras.datasets import flic

        records = flic.load(annotations, split=split, image_root=folder / "images", **options)
        return records, FLIC_INFO
    if name == "mpii":
        folder = root / "mpii"
        annotations = find_mpii_annotations(folder, split)
        if annotations is None:
            raise _not_found(
                "mpii", folder,
                f"expected {folder / MPII_H5_DIR / (split + '.h5')} or "
                f"{folder / MPII_MAT_CANDIDATES[0]} or {folder / MPII_JSON_CANDIDATES[0]}",
            )
        _check_images(folder / "images", "mpii", folder, require_images)
        from hg_keras.datasets import mpii

        records = mpii.load(annotations, split=split, image_root=folder / "images", **options)
        return records, MPII_INFO
    if name == "coco":
        coco = _coco_path(spec, path)
        from hg_keras.datasets import custom

        info = custom.info_from_coco(coco, flip_pairs=options.pop("flip_pairs", None),
                                     category_id=options.get("category_id"))
        return custom.load(coco, split=split, **options), info
    raise ValueError(
        f"dataset spec {spec!r}: unknown; use 'flic', 'mpii', 'synthetic' or 'coco:PATH'"
    )


def _check_images(images: Path, name: str, folder: Path, require_images: bool) -> None:
    if require_images and not images.is_dir():
        raise _not_found(name, folder, f"expected the images in {images}/")
