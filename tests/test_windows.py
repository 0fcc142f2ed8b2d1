"""Windows as a first-class platform, checked as far as Linux can: nothing POSIX-only on any
import path (the CLI and purge tests run again with `fcntl`, `pwd`, `grp`, `termios` and
`resource` unimportable and platformdirs answering the Windows way), the platform's folders,
UTF-8 out whatever the locale, and the journal's cross-platform lock."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import platformdirs.macos
import pytest

from ta_steget_cli import config as cfg
from ta_steget_cli import journal as j
from ta_steget_cli.errors import UsageError
from tests.conftest import AS_OF

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "tests" / "windows_sim"
ENTRY = "from ta_steget_cli.cli import main; main()"


def as_on_windows(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    """`python *args` with the POSIX-only modules unimportable and Windows folders in `home`."""
    folders = {"APPDATA": str(home / "Roaming"), "LOCALAPPDATA": str(home / "Local")}
    # The platform's folders, not the tests' own sandbox folder (conftest's TASTEGET_SANDBOX_DIR).
    inherited = {k: v for k, v in os.environ.items() if k != "TASTEGET_SANDBOX_DIR"}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        timeout=300,
        cwd=ROOT,
        env={
            **inherited,
            "PYTHONPATH": os.pathsep.join(p for p in (str(SIM), os.environ.get("PYTHONPATH")) if p),
            **folders,
            **env,
        },
    )


def test_the_cli_imports_and_runs_without_posix_only_modules(tmp_path: Path) -> None:
    probe = "import sys, ta_steget_cli.cli, ta_steget_cli.purge; print(sys.modules['fcntl'])"
    imported = as_on_windows(tmp_path, "-c", probe)
    assert imported.returncode == 0, imported.stderr.decode()
    assert imported.stdout.decode().strip() == "None"  # the blocking was really in force
    run = as_on_windows(
        tmp_path, "-c", ENTRY, "--sandbox", "overdue", "--kommun", "Krokom",
        "--as-of", AS_OF.isoformat(), "--format", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout)  # the sandbox has overdue persons in Krokom


def test_folders_are_the_windows_ones_there(tmp_path: Path) -> None:
    probe = (
        "from ta_steget_cli.config import config_path, default_data_dir;"
        "from ta_steget_cli.sandbox.tool_config import sandbox_config;"
        "print(config_path(None)); print(default_data_dir());"
        "print(sandbox_config().purge.data_dir)"
    )
    run = as_on_windows(tmp_path, "-c", probe)
    assert run.returncode == 0, run.stderr.decode()
    config, data, sandbox = run.stdout.decode().splitlines()
    local = tmp_path / "Local" / "tasteget"
    assert Path(config) == local / "config.toml"
    assert Path(data) == local
    assert Path(sandbox) == local / "sandbox"


def test_cli_and_purge_tests_pass_as_on_windows(tmp_path: Path) -> None:
    run = as_on_windows(
        tmp_path, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
        "-p", "tests.windows_mode", "tests/test_cli_sandbox.py", "tests/test_purge.py",
    )  # fmt: skip
    tail = run.stdout.decode()[-3000:] + run.stderr.decode()[-2000:]
    assert run.returncode == 0, tail
    assert " passed" in tail and "skipped" not in tail


def test_linux_keeps_its_xdg_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if sys.platform.startswith("linux"):
        assert cfg.config_path(None) == tmp_path / "conf" / "tasteget" / "config.toml"
        assert cfg.default_data_dir() == tmp_path / "data" / "tasteget"


def test_a_folder_earlier_versions_wrote_by_hand_is_still_found(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    """On macOS the platform folder is ~/Library/Application Support; a config and purge backups
    already in ~/.config and ~/.local/share (where earlier versions put them) stay in use."""
    monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.macos.MacOS)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name)
    library = isolated_home / "Library" / "Application Support" / "tasteget"
    assert cfg.default_data_dir() == library
    legacy = isolated_home / ".local" / "share" / "tasteget"
    legacy.mkdir(parents=True)
    assert cfg.default_data_dir() == legacy
    library.mkdir(parents=True)  # once the platform folder exists, it wins
    assert cfg.default_data_dir() == library


def test_redirected_json_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """A redirected Windows console writes cp1252 unless told otherwise."""
    run = subprocess.run(
        [sys.executable, "-c", ENTRY, "--sandbox", "overdue", "--as-of", AS_OF.isoformat(),
         "--format", "json"],
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = run.stdout.decode("utf-8")  # raises on cp1252's single-byte å, ä, ö
    assert any(ord(ch) > 127 for ch in text)
    run.stderr.decode("utf-8")


def test_one_purge_per_journal_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "purge-x.journal.jsonl"
    with j.Journal(path) as first:
        first.write("intent", 1)
        with pytest.raises(UsageError, match="another purge"):
            j.Journal(path)
    with j.Journal(path) as again:  # the lock ends with the run
        again.write("done", 1)
    assert [r["step"] for r in j.read_lines(path)] == ["intent", "done"]


def test_one_purge_per_journal_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "purge-x.journal.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from ta_steget_cli.journal import Journal;"
         f"J = Journal(Path({str(path)!r})); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match="another purge"):
            j.Journal(path)
    finally:
        holder.communicate("", timeout=60)
    j.Journal(path).close()  # the process ended, and its lock with it


WRITE_CALLS = {"open", "read_text", "write_text", "fdopen", "TextIOWrapper", "NamedTemporaryFile"}


def text_opens_without_encoding(source: str) -> list[int]:
    """Lines that open a file as text without saying encoding= (the locale's would be used)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        low_level = (
            isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "os"
        )
        if name not in WRITE_CALLS or (low_level and name == "open"):  # os.open: bytes only
            continue
        modes = [a.value for a in node.args if isinstance(a, ast.Constant)]
        modes += [
            k.value.value
            for k in node.keywords
            if k.arg == "mode" and isinstance(k.value, ast.Constant)
        ]
        if any(isinstance(m, str) and "b" in m for m in modes):
            continue
        if not any(k.arg == "encoding" for k in node.keywords):
            lines.append(node.lineno)
    return lines


def test_every_text_file_is_opened_as_utf8() -> None:
    package = ROOT / "src" / "ta_steget_cli"
    found = {
        str(path.relative_to(package)): lines
        for path in package.rglob("*.py")
        if (lines := text_opens_without_encoding(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_encoding_check_finds_a_locale_dependent_open() -> None:
    source = "open(p, 'w')\nopen(p, 'rb')\np.write_text(t)\nos.open(p, 1)\nos.fdopen(f, 'a')\n"
    assert text_opens_without_encoding(source) == [1, 3, 5]
