"""Run a benchmark module in a fresh Python process and read back its JSON result.

Some settings (``TF_ENABLE_ONEDNN_OPTS``) are read once, when TensorFlow is imported, so
comparing them needs one process per setting. A child is ``python -m <module> <args>``; it
prints its result as JSON on the last line of stdout.

Example:
    >>> run_json_child("hg_keras.benchmarks.onednn", ["--stacks", "1", ...],
    ...                {"TF_ENABLE_ONEDNN_OPTS": "1"})                  # doctest: +SKIP
    {'forward_median_s': 0.012, ...}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def onednn_environment(enabled: bool) -> dict:
    """Environment overrides turning TensorFlow's oneDNN custom ops on or off."""
    return {"TF_ENABLE_ONEDNN_OPTS": "1" if enabled else "0", "TF_CPP_MIN_LOG_LEVEL": "3",
            "KERAS_BACKEND": "tensorflow"}


def run_json_child(module: str, args: list[str], environment: dict,
                   timeout_s: float = 3600) -> dict | list:
    """``python -m module *args`` with ``environment`` added to this process' environment.

    Returns:
        The JSON value (object or list) printed on the last line of the child's stdout.

    Raises:
        RuntimeError: the child failed; the message holds its command and stderr tail.
    """
    command = [sys.executable, "-m", module, *args]
    result = subprocess.run(command, env=dict(os.environ, **environment), capture_output=True,
                            text=True, timeout=timeout_s, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with exit code {result.returncode}: "
            f"{result.stderr[-2000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])
