"""Ruff is part of the suite: the code base stays formatted and lint-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from portal import PROJECT_ROOT


def _ruff() -> list[str]:
    ruff = Path(sys.executable).with_name("ruff")
    return [str(ruff)] if ruff.exists() else [shutil.which("ruff") or "ruff"]


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [*_ruff(), "check", "."], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [*_ruff(), "format", "--check", "."],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
