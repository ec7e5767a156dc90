"""Reading MATLAB ``.mat`` annotation files with clear errors.

Files are read with ``scipy.io.loadmat(struct_as_record=False, squeeze_me=True)``: structs
become objects with attributes, 1x1 arrays become scalars and 1xN arrays 1-D arrays. Helpers
here undo the resulting 0/1-element quirks (an empty field is an empty array, a single
element is not wrapped in an array).

Example:
    >>> release = load_mat("mpii_human_pose_v1_u12_1.mat", "RELEASE")   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import scipy.io

from hg_keras.datasets.records import AnnotationError


def load_mat(path, variable: str):
    """Load one variable of a ``.mat`` file.

    Raises:
        AnnotationError: the file cannot be read as a .mat file or lacks ``variable``.
    """
    try:
        data = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True,
                                variable_names=[variable])
    except Exception as error:  # noqa: BLE001 (scipy raises many types for damaged files)
        raise AnnotationError(f"{path}: cannot read as a MATLAB file ({error})") from None
    if variable not in data:
        raise AnnotationError(f"{path}: has no variable {variable!r}")
    return data[variable]


def field(struct, name: str, where: str, default=...):
    """Attribute ``name`` of a loaded MATLAB struct.

    Args:
        struct: a ``mat_struct`` object.
        name: field name.
        where: location for the error message (file and struct path).
        default: returned when the field is absent; without it absence raises.

    Raises:
        AnnotationError: the field is absent and no default was given.
    """
    if hasattr(struct, "_fieldnames") and name in struct._fieldnames:
        return getattr(struct, name)
    if default is not ...:
        return default
    raise AnnotationError(f"{where}: missing field {name!r}")


def as_list(value) -> list:
    """A struct array / cell / single element / empty array as a Python list."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.dtype.kind == "V":
            return list(value.ravel())
        if value.size == 0:
            return []
        return list(value.ravel())
    return [value]


def is_empty(value) -> bool:
    """True for MATLAB's empty values (``[]``, ``''``, empty struct arrays)."""
    if value is None:
        return True
    if isinstance(value, np.ndarray):
        return value.size == 0
    if isinstance(value, str):
        return value == ""
    return False


def as_float(value, where: str, default=None):
    """A scalar number from a MATLAB value ('' / [] give ``default``; '0'/'1' strings parse)."""
    if is_empty(value):
        if default is None:
            raise AnnotationError(f"{where}: empty value; expected a number")
        return default
    try:
        array = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: {value!r} is not a number") from None
    if array.size != 1:
        raise AnnotationError(f"{where}: expected one number, got {array.size}")
    return float(array[0])
