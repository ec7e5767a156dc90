"""The machine a benchmark ran on, and one place that fixes every library's thread count.

Nothing here imports TensorFlow at module level: ``scripts/benchmark_gpu.py`` uses this
module on machines without it.

Example:
    >>> info = machine_info()
    >>> sorted(info)[:3]
    ['cpu_count', 'cpu_flags', 'cpu_model']
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
from pathlib import Path

#: Distributions whose versions every report states (absent ones are listed as such).
LIBRARIES = (
    "hg-keras",
    "tensorflow",
    "keras",
    "torch",
    "jax",
    "jaxlib",
    "ai-edge-litert",
    "numpy",
    "opencv-python-headless",
)

#: CPU features that decide which convolution kernels run (shown in reports).
SIMD_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "neon")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpuinfo() -> dict:
    path = Path("/proc/cpuinfo")
    if not path.is_file():
        return {}
    fields = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` "model name"), or what ``platform`` knows."""
    fields = _cpuinfo()
    return fields.get("model name") or platform.processor() or platform.machine() or "unknown"


#: The project file of a source checkout, for runs that import the package without installing it.
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _source_tree_version() -> str | None:
    """``version`` of the checkout's ``pyproject.toml`` when it describes hg-keras."""
    try:
        text = _PYPROJECT.read_text(encoding="utf-8")
    except OSError:
        return None
    if not re.search(r'^name\s*=\s*"hg-keras"', text, re.MULTILINE):
        return None
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else None


def library_versions(names=LIBRARIES) -> dict[str, str]:
    """Installed version of each distribution, ``"not installed"`` when absent.

    Reads package metadata only; nothing is imported. hg-keras imported from a source
    checkout without installing it (as on a GPU machine that receives the tree) is given as
    ``"0.1.0 (source tree)"``, read from the checkout's ``pyproject.toml``.

    Example:
        >>> library_versions(("numpy",))                     # doctest: +SKIP
        {'numpy': '2.4.6'}
    """
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            source = _source_tree_version() if name == "hg-keras" else None
            versions[name] = f"{source} (source tree)" if source else "not installed"
    return versions


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, rounded to 0.01 (None where the OS has none)."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except (AttributeError, OSError):
        return None


def machine_info() -> dict:
    """Date, CPU model and SIMD features, core counts, load average, OS and library versions.

    Returns:
        dict with ``date`` (ISO, UTC), ``cpu_model``, ``cpu_flags`` (list), ``cpu_count``
        (logical CPUs of the machine), ``available_cores`` (this process' affinity),
        ``load_average`` (1, 5, 15 min, or None), ``platform``, ``python`` and ``libraries``.
    """
    flags = set(_cpuinfo().get("flags", "").split())
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": cpu_model(),
        "cpu_flags": [f for f in SIMD_FLAGS if f in flags],
        "cpu_count": os.cpu_count(),
        "available_cores": available_cores(),
        "load_average": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
    }


def fix_thread_counts(num_threads: int, tensorflow: bool = True, torch: bool = True) -> dict:
    """Use ``num_threads`` threads in TensorFlow and PyTorch; call before either runs an op.

    TensorFlow: ``intra_op`` = ``num_threads`` (the threads of one convolution, oneDNN/Eigen)
    and ``inter_op`` = 1 (ops run one after the other, as PyTorch eager does), so both
    libraries use the same cores the same way. PyTorch: ``torch.set_num_threads`` and
    ``set_num_interop_threads(1)``. TFLite interpreters take ``num_threads`` themselves.

    Args:
        num_threads: threads per library, >= 1.
        tensorflow: configure TensorFlow (imported here) when installed.
        torch: configure PyTorch when installed.

    Returns:
        dict library -> what was set, e.g. ``{"tensorflow": "intra_op=2, inter_op=1"}``;
        libraries that are absent are left out.

    Raises:
        ValueError: ``num_threads`` < 1.
    """
    if num_threads < 1:
        raise ValueError(f"--threads {num_threads}: need at least one thread")
    settings = {}
    if tensorflow:
        try:
            import tensorflow as tf
        except ImportError:
            tf = None
        if tf is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(num_threads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
                settings["tensorflow"] = f"intra_op={num_threads}, inter_op=1"
            except RuntimeError:  # TensorFlow already initialised its thread pools
                intra = tf.config.threading.get_intra_op_parallelism_threads()
                inter = tf.config.threading.get_inter_op_parallelism_threads()
                settings["tensorflow"] = (
                    f"intra_op={intra or 'default'}, inter_op={inter or 'default'} "
                    "(already initialised; could not change)"
                )
    if torch:
        try:
            import torch as torch_module
        except ImportError:
            torch_module = None
        if torch_module is not None:
            torch_module.set_num_threads(num_threads)
            try:
                torch_module.set_num_interop_threads(1)
            except RuntimeError:  # interop pool already started
                pass
            settings["torch"] = (
                f"num_threads={torch_module.get_num_threads()}, "
                f"interop={torch_module.get_num_interop_threads()}"
            )
    return settings
