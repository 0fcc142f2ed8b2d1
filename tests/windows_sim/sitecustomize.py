"""Makes this Python as Windows-like as Linux allows, before anything else is imported.

On PYTHONPATH, Python imports this module at start-up, so every process a test starts (the CLI
in a subprocess, `sandbox serve`) runs in the same mode as the tests themselves (see
tests/windows_mode.py): `fcntl`, `pwd`, `grp`, `termios` and `resource` cannot be imported (None
in sys.modules is what `import` checks first), `os.fchmod` is missing (as on Windows before
Python 3.13), and `platformdirs` answers with its Windows rules (%APPDATA%, %LOCALAPPDATA%).
"""

from __future__ import annotations

import os
import sys
import warnings

POSIX_ONLY = ("fcntl", "pwd", "grp", "termios", "resource")


def pretend_windows() -> None:
    for name in POSIX_ONLY:
        sys.modules[name] = None  # type: ignore[assignment]
    if hasattr(os, "fchmod"):
        del os.fchmod
    import platformdirs
    import platformdirs.windows

    platformdirs.PlatformDirs = platformdirs.windows.Windows  # type: ignore[misc]
    # Off Windows its folder lookup has no shell to ask; the environment is what it falls back to.
    platformdirs.windows._RESOLVE_WIN_FOLDER = platformdirs.windows.get_win_folder_from_env_vars
    # filelock falls back to its soft lock without fcntl and warns; Windows has a real lock.
    warnings.filterwarnings("ignore", "only soft file lock is available")


pretend_windows()
