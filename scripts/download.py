"""Download FLIC or MPII into datasets/ and build their records.

Usage:
    python scripts/download.py flic [--root datasets/]
    python scripts/download.py mpii --root /data/pose
"""

import argparse
import sys

from hg_keras.datasets.download import (
    ARCHIVES,
    DEFAULT_TIMEOUT_S,
    ChecksumError,
    DownloadError,
    download_dataset,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(ARCHIVES), help="dataset to fetch")
    parser.add_argument("--root", default="datasets", help="dataset root folder")
    parser.add_argument("--timeout_s", type=float, default=DEFAULT_TIMEOUT_S,
                        help="network timeout in seconds")
    parser.add_argument("--no_progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    try:
        folder = download_dataset(args.name, root=args.root, timeout_s=args.timeout_s,
                                  progress=not args.no_progress)
    except (DownloadError, ChecksumError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.name}: ready in {folder} (records: {folder / 'annotations.jsonl'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
