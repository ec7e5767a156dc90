"""The README's set-up commands and its model.fit example are what the project runs."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _code_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = [b.strip() for b in _code_blocks("bash") if "pytest" in b][0]
    assert test_command in (REPO / ".ci" / "run").read_text()


def test_main_command_trains_on_the_synthetic_default():
    assert "pip install -e . && python scripts/train.py --dataset synthetic" in README


def test_fit_example_runs_as_written(tmp_path):
    marker = "<!-- readme-fit-example"
    block = README[README.index(marker):]
    code = re.search(r"```python\n(.*?)```", block, flags=re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=900,
                            env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "best.keras").is_file()
    assert "val_pckh" in result.stdout
