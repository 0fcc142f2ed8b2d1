"""A pytest plugin that runs tests as on Windows, as far as Linux can pretend:
`python -m pytest -p tests.windows_mode tests/test_cli_sandbox.py ...`.

It puts tests/windows_sim first on PYTHONPATH, so that its sitecustomize makes this process and
every process the tests start unable to import `fcntl`, `pwd`, `grp`, `termios` and `resource`,
and makes `platformdirs` report Windows folders, which this plugin points into each test's
temporary home. `-p` loads it before any conftest imports the tool.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SIM = Path(__file__).parent / "windows_sim"
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(SIM), os.environ.get("PYTHONPATH", "")) if p
)
_spec = importlib.util.spec_from_file_location("windows_sim", SIM / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))  # pretends, in this process


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:only soft file lock is available")


def windows_folders(home: Path) -> dict[str, str]:
    return {
        "APPDATA": str(home / "AppData" / "Roaming"),
        "LOCALAPPDATA": str(home / "AppData" / "Local"),
        "USERPROFILE": str(home),
    }


@pytest.fixture(autouse=True)
def _windows_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in windows_folders(tmp_path / "home").items():
        monkeypatch.setenv(name, value)
