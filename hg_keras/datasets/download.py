"""Fetch the official FLIC / MPII archives, verify, extract and build the records.

``download_dataset(name, root)`` downloads each archive of ``ARCHIVES[name]`` into
``root/downloads/`` (resuming a partial ``.part`` file with an HTTP Range request), checks
its SHA-256 when one is known, extracts it into ``root/<name>/`` and writes
``root/<name>/annotations.jsonl`` (all splits, with a ``split`` column) plus
``annotations.info.json``. Without network it fails within ``timeout_s`` seconds with a
message saying which files to place where by hand.

Checksums: the official archives publish none, so ``sha256`` is ``None`` for them (the size
and a successful extraction are the only checks); pass your own ``Archive`` list to pin them.

Example:
    >>> download_dataset("flic", root="datasets")   # doctest: +SKIP
    PosixPath('datasets/flic')
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hg_keras.datasets.records import FLIC_INFO, MPII_INFO, write_jsonl

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Archive:
    """One file to fetch.

    Attributes:
        filename: name under ``root/downloads/``.
        url: where to get it.
        sha256: expected SHA-256 hex digest, or None when not published.
        strip_prefix: leading folder inside the archive to drop when extracting
            (e.g. ``"FLIC/"``), or None.
        extract: False to copy the file as is into the dataset folder (``subdir``).
        subdir: folder inside ``root/<name>/`` to extract or copy into.
    """

    filename: str
    url: str
    sha256: str | None = None
    strip_prefix: str | None = None
    extract: bool = True
    subdir: str = ""


ARCHIVES = {
    "flic": (
        Archive("FLIC.zip", "http://vision.grasp.upenn.edu/video/FLIC.zip", None,
                strip_prefix="FLIC/"),
    ),
    "mpii": (
        Archive("mpii_human_pose_v1_u12_2.zip",
                "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/"
                "mpii_human_pose_v1_u12_2.zip", None),
        Archive("mpii_human_pose_v1.tar.gz",
                "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1.tar.gz",
                None),
    ),
}

MANUAL_LAYOUT = {
    "flic": "FLIC.zip from https://bensapp.github.io/flic-dataset.html, unzipped so that "
            "{root}/flic/examples.mat and {root}/flic/images/*.jpg exist",
    "mpii": "from http://human-pose.mpi-inf.mpg.de/ the annotations "
            "(mpii_human_pose_v1_u12_2.zip -> {root}/mpii/mpii_human_pose_v1_u12_2/"
            "mpii_human_pose_v1_u12_1.mat) and the images (mpii_human_pose_v1.tar.gz -> "
            "{root}/mpii/images/*.jpg); the reference train.h5/valid.h5/test.h5 may go to "
            "{root}/mpii/annot/",
}


class DownloadError(ConnectionError):
    """A download failed (no network, HTTP error); the message says what to place by hand."""


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 differs from the expected one."""


def sha256_of(path, chunk_bytes: int = CHUNK_BYTES) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest, sha256: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
          progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part`` and verifying the checksum.

    Args:
        url: http(s) URL.
        dest: final file path; an existing file is kept (and verified when ``sha256``).
        sha256: expected hex digest, or None to skip verification.
        timeout_s: socket timeout per connection / read.
        progress: show a tqdm progress bar.

    Returns:
        ``Path(dest)``.

    Raises:
        DownloadError: the server cannot be reached or answers with an error.
        ChecksumError: the downloaded bytes do not match ``sha256`` (the partial file is
            deleted so the next call starts over).

    Example:
        >>> fetch("http://host/FLIC.zip", "datasets/downloads/FLIC.zip")   # doctest: +SKIP
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        if sha256 is None or sha256_of(dest) == sha256.lower():
            return dest
        logger.warning("%s: checksum differs from the expected one; downloading again", dest)
        dest.unlink()
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "hg_keras"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the partial file is already complete
            response = None
        else:
            raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (TimeoutError, urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: cannot connect ({reason})") from None
    if response is not None:
        with response:
            resumed = offset > 0 and response.status == 206
            if not resumed:
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            bar = _progress_bar(total, offset, dest.name) if progress else None
            try:
                with open(part, "ab" if resumed else "wb") as out:
                    while True:
                        try:
                            block = response.read(CHUNK_BYTES)
                        except (TimeoutError, OSError) as error:
                            raise DownloadError(
                                f"{url}: connection lost after {out.tell()} bytes ({error}); "
                                "run again to resume"
                            ) from None
                        if not block:
                            break
                        out.write(block)
                        if bar is not None:
                            bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
    if sha256 is not None:
        actual = sha256_of(part)
        if actual != sha256.lower():
            part.unlink()
            raise ChecksumError(
                f"{dest}: SHA-256 {actual} does not match the expected {sha256.lower()} "
                f"(from {url}); the partial file was removed"
            )
    os.replace(part, dest)
    return dest


def _progress_bar(total, initial, name):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=name)


def _safe_target(dest_dir: Path, member: str, strip_prefix: str | None) -> Path | None:
    name = member.replace("\\", "/")
    if strip_prefix:
        if not name.startswith(strip_prefix):
            return None
        name = name[len(strip_prefix):]
    if not name or name.endswith("/"):
        return None
    target = (dest_dir / name).resolve()
    if not str(target).startswith(str(dest_dir.resolve()) + os.sep):
        raise ValueError(f"archive member {member!r} would be written outside {dest_dir}")
    return target


def extract(archive, dest_dir, strip_prefix: str | None = None) -> Path:
    """Extract a .zip or .tar(.gz) archive into ``dest_dir``, dropping ``strip_prefix``.

    Members that would land outside ``dest_dir`` are refused.

    Raises:
        ValueError: unknown archive type or an unsafe member path.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                target = _safe_target(dest_dir, info.filename, strip_prefix)
                if target is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            for member in t:
                if not member.isfile():
                    continue
                target = _safe_target(dest_dir, member.name, strip_prefix)
                if target is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with t.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
    else:
        raise ValueError(f"{archive}: not a zip or tar archive")
    return dest_dir


def build_records(name: str, dataset_dir) -> Path:
    """Write ``dataset_dir/annotations.jsonl`` (all splits) from the extracted annotations."""
    dataset_dir = Path(dataset_dir)
    out = dataset_dir / "annotations.jsonl"
    if name == "flic":
        from hg_keras.datasets import flic

        records = flic.load(dataset_dir / flic.ANNOTATION_FILE, split=["train", "test"])
        write_jsonl(records, out, info=FLIC_INFO)
    elif name == "mpii":
        from hg_keras.datasets import mpii
        from hg_keras.datasets.registry import find_mpii_annotations

        annotations = find_mpii_annotations(dataset_dir, "test")
        if annotations is None:
            raise FileNotFoundError(f"{dataset_dir}: no MPII annotation file after extraction")
        splits = ["train", "valid", "test"]
        if mpii.detect_format(annotations) == "h5":
            splits = ["test"]
        records = mpii.load(annotations, split=splits)
        write_jsonl(records, out, info=MPII_INFO)
    else:
        raise ValueError(f"dataset {name!r}: no records builder; use one of {sorted(ARCHIVES)}")
    return out


def download_dataset(name: str, root="datasets", timeout_s: float = DEFAULT_TIMEOUT_S,
                     progress: bool = True, archives=None) -> Path:
    """Fetch, verify and extract a dataset, then write its records as JSON Lines.

    Args:
        name: ``"flic"`` or ``"mpii"``.
        root: dataset root; archives go to ``root/downloads``, data to ``root/<name>``.
        timeout_s: network timeout in seconds (fail fast without network).
        progress: show tqdm progress bars.
        archives: override ``ARCHIVES[name]`` (a list of ``Archive``), e.g. a mirror.

    Returns:
        the dataset folder ``root/<name>``.

    Raises:
        DownloadError: no network / HTTP error; the message says which files to place where.
        ChecksumError: a download does not match its checksum.

    Example:
        >>> download_dataset("mpii", root="datasets")   # doctest: +SKIP
    """
    if name not in ARCHIVES and archives is None:
        raise ValueError(f"dataset {name!r}: downloadable datasets are {sorted(ARCHIVES)}")
    root = Path(root)
    dataset_dir = root / name
    for archive in archives if archives is not None else ARCHIVES[name]:
        marker = dataset_dir / f".extracted-{archive.filename}"
        if marker.is_file():
            continue
        try:
            path = fetch(archive.url, root / "downloads" / archive.filename, archive.sha256,
                         timeout_s=timeout_s, progress=progress)
        except DownloadError as error:
            layout = MANUAL_LAYOUT.get(name, f"the files of {name}").format(root=root)
            raise DownloadError(
                f"{error}. Without network, place the files by hand: {layout}; "
                f"or put {archive.filename} into {root / 'downloads'}/ and run "
                f"`python scripts/download.py {name} --root {root}` again."
            ) from None
        if archive.extract:
            extract(path, dataset_dir / archive.subdir, archive.strip_prefix)
        else:
            (dataset_dir / archive.subdir).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dataset_dir / archive.subdir / archive.filename)
        marker.write_text(archive.url + "\n")
    build_records(name, dataset_dir)
    return dataset_dir
