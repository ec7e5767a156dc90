"""Shared test settings: quiet TensorFlow logs, deterministic seeds, the shared data folder."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real annotation files that sit beside the repository (skips when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real annotation files not found at {SHARED_DATA}")
    return SHARED_DATA
