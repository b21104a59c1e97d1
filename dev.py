#!/usr/bin/env python3
"""Set up the project's virtual environment and run the main job or the tests.

    python3 dev.py run     # create .venv if needed, install, run the baseline with its report
    python3 dev.py test    # create .venv if needed, install with test extras (and, as root
                           # on Debian, chromium for the browser test), run pytest
    python3 dev.py check   # create .venv if needed (test extras), run ruff and mypy on sim/

Only the Python standard library is used here, so this works on a fresh machine
that has nothing but Python >= 3.11.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _stamp(extras: str) -> Path:
    return VENV / f".installed-{extras or 'base'}"


def ensure_env(extras: str = "") -> None:
    """Create .venv and install the package (editable) unless already up to date."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python >= 3.11 is needed, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = _stamp(extras)
    if stamp.exists() and stamp.read_text() == digest:
        return
    spec = f".[{extras}]" if extras else "."
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["-e", spec], cwd=ROOT, check=True)
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """Best effort: install Debian's chromium for the report's browser test (root + apt-get only).

    The browser test skips, saying why, when chromium is still missing afterwards.
    """
    if shutil.which("chromium") or os.name != "posix" or not shutil.which("apt-get"):
        return
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        return
    print("installing chromium for the report's browser test (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL, timeout=900)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True,
                       env=env, stdout=subprocess.DEVNULL, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"could not install chromium ({exc}); the browser test will be skipped", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "check"):
        print(__doc__)
        return 2
    if argv[0] == "run":
        ensure_env()
        return subprocess.call([str(BIN / "sim"), "run", *argv[1:]], cwd=ROOT)
    ensure_env("test")
    if argv[0] == "check":  # configured in pyproject.toml ([tool.ruff], [tool.mypy])
        return (subprocess.call([str(BIN / "ruff"), "check", "sim", "tools"], cwd=ROOT)
                or subprocess.call([str(BIN / "mypy")], cwd=ROOT))
    ensure_chromium()
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
