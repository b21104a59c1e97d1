#!/usr/bin/env python3
"""Set up the project's virtual environment and run the main job or the tests.

    python3 dev.py run     # create .venv if needed, install, run the baseline with its report
    python3 dev.py test    # create .venv if needed, install with the test and schedule extras
                           # (and, as root on Debian, chromium for the browser test and a
                           # headless Java runtime for MPXJ's import tests), run pytest
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


def ensure_system_packages() -> None:
    """Best effort, as root on Debian with apt-get only: chromium for the report's browser test and a headless
    Java runtime for the MPXJ import tests (tests/test_interop_mpxj.py).

    The tests that need them skip, saying why, when they are still missing afterwards.
    """
    wanted = [(pkg, why) for cmd, pkg, why in (("chromium", "chromium", "the report's browser test"),
                                               ("java", "default-jre-headless", "the MPXJ import tests"))
              if not shutil.which(cmd)]
    if not wanted or os.name != "posix" or not shutil.which("apt-get"):
        return
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"could not run apt-get update ({exc}); {', '.join(w for _, w in wanted)} will be skipped", flush=True)
        return
    for pkg, why in wanted:
        print(f"installing {pkg} for {why} (apt-get)", flush=True)
        try:
            subprocess.run(["apt-get", "install", "-y", "-q", pkg], check=True,
                           env=env, stdout=subprocess.DEVNULL, timeout=1800)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"could not install {pkg} ({exc}); {why} will be skipped", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "check"):
        print(__doc__)
        return 2
    if argv[0] == "run":
        ensure_env()
        return subprocess.call([str(BIN / "sim"), "run", *argv[1:]], cwd=ROOT)
    if argv[0] == "check":  # configured in pyproject.toml ([tool.ruff], [tool.mypy])
        ensure_env("test")
        return (subprocess.call([str(BIN / "ruff"), "check", "sim"], cwd=ROOT)
                or subprocess.call([str(BIN / "mypy")], cwd=ROOT))
    ensure_env("test,schedule")
    ensure_system_packages()
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
