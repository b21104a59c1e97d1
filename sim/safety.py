"""Output directories the tool may write: a marker, a lock, a staged copy renamed into place.

Rules (issue 10):

* The tool writes a directory only through :class:`StagedDir`. It stages into
  ``<out>.partial`` and renames it to ``<out>`` when complete, so a failed or
  interrupted command never leaves a directory that looks finished.
* Every directory it makes carries a marker file, :data:`MARKER`, naming the
  tool, the kind of output and a run id. An ``<out>`` that already exists is
  replaced only when it carries the marker *and* the caller passes ``force``;
  anything else that exists (a user's folder, ``results/``, ``..``, a file) is
  refused with :class:`OutputError` before anything is touched.
* A lock file ``<out>.lock`` (``fcntl.flock``) is held from the check to the
  commit, so a second process writing the same ``<out>`` stops with an
  :class:`OutputError` instead of mixing its files with the first one's.
* On failure only the staging directory this process made is removed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from datetime import datetime, UTC
from pathlib import Path

from sim.errors import OutputError

MARKER = ".daluo-run"
TOOL = "daluo-sim"


def marker_of(path: Path) -> dict | None:
    """The marker of directory ``path`` (a dict), or None when it is not a directory the tool made."""
    m = Path(path) / MARKER
    try:
        if m.is_symlink() or not m.is_file() or m.stat().st_size > 4096:
            return None
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == TOOL else None


def write_marker(path: Path, kind: str) -> dict:
    """Mark ``path`` as made by the tool; returns the marker."""
    data = {"tool": TOOL, "kind": kind, "run_id": uuid.uuid4().hex,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    (Path(path) / MARKER).write_text(json.dumps(data) + "\n", encoding="utf-8")
    return data


def check_out(out: Path, *, force: bool = False, kind: str | None = None, option: str = "--out") -> None:
    """Refuse an output path the tool may not (re)write; touches nothing.

    Raises
    ------
    OutputError
        ``out`` names no new directory (``.``, ``..``, a file), exists and was
        not made by the tool, exists and ``force`` is not given, is of another
        kind (e.g. a batch where a run is asked), or cannot be created.
    """
    out = Path(out)
    if out.name in ("", ".", "..") or str(out).endswith(os.sep + ".") or str(out).endswith(os.sep + ".."):
        raise OutputError(f"{option} {str(out)!r}: name a new directory, not {out.name or str(out)!r}")
    if out.exists() or out.is_symlink():
        if out.is_symlink():
            raise OutputError(f"{option} {out}: is a symbolic link; name a new directory")
        if not out.is_dir():
            raise OutputError(f"{option} {out}: exists and is not a directory; name a new directory")
        mark = marker_of(out)
        if mark is None:
            raise OutputError(f"{option} {out}: exists and was not made by sim (no {MARKER} marker); "
                              "nothing was changed: name a new directory")
        if kind is not None and mark.get("kind") != kind:
            raise OutputError(f"{option} {out}: holds a {mark.get('kind')} output, not a {kind}; "
                              "name a new directory")
        if not force:
            raise OutputError(f"{option} {out}: holds an earlier {mark.get('kind', 'run')}; pass --force to "
                              "replace it, or name a new directory")
    parent = out.parent
    probe = parent
    while not probe.exists():
        if probe.is_symlink() or probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{option} {out}: {probe} is not a directory")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {out}: {probe} is not writable")


def _missing_ancestors(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    out = []
    p = Path(path)
    while not p.exists() and p.parent != p:
        out.append(p)
        p = p.parent
    return out


class _Lock:
    """An exclusive, non-blocking ``flock`` on ``path`` (created if needed, removed on release)."""

    def __init__(self, path: Path, what: Path):
        import fcntl

        self.path = path
        self.fd: int | None = None
        for _ in range(5):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputError(f"{what}: another sim process is writing it (lock {path}); "
                                      "wait for it or choose another --out") from None
                raise
            try:
                same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its previous holder unlinked after we opened it
                self.fd = fd
                return
            os.close(fd)
        raise OutputError(f"{what}: could not lock {path}; try again")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None


class StagedDir:
    """A directory written in ``<out>.partial`` under a lock and renamed to ``<out>`` by :meth:`commit`.

    Parameters
    ----------
    out
        The directory to make.
    kind
        What it holds (``run``, ``batch``, ``appraisal``, ``backtest``, ...), kept in its marker.
    force
        Replace an existing ``out`` that carries the tool's marker (and the same ``kind``).
    option
        The command-line option named in messages.
    """

    def __init__(self, out: Path, *, kind: str, force: bool = False, option: str = "--out"):
        self.out = Path(out)
        self.kind = kind
        check_out(self.out, force=force, kind=kind, option=option)
        parent = self.out.parent
        self._made_parents = _missing_ancestors(parent)  # removed again if this output is abandoned
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{option} {self.out}: cannot create {parent} ({exc.strerror})") from None
        self.partial = self.out.with_name(self.out.name + ".partial")
        self._made = False
        try:
            self._lock = _Lock(self.out.with_name(self.out.name + ".lock"), self.out)
        except OSError as exc:
            raise OutputError(f"{option} {self.out}: cannot lock it ({exc.strerror})") from None
        try:
            check_out(self.out, force=force, kind=kind, option=option)  # again, now that we hold the lock
            if self.partial.exists() or self.partial.is_symlink():
                if self.partial.is_symlink() or marker_of(self.partial) is None:
                    raise OutputError(f"{self.partial}: exists and was not made by sim; nothing was changed: "
                                      "move it away or name another --out")
                shutil.rmtree(self.partial)  # an interrupted attempt of ours, and we hold the lock
            self.partial.mkdir()
            self._made = True
            self.marker = write_marker(self.partial, kind)
        except BaseException:
            self._cleanup()
            raise

    @property
    def path(self) -> Path:
        return self.partial

    def commit(self) -> Path:
        """Rename the staging directory to ``out`` (replacing an earlier output of ours); release the lock."""
        try:
            old = None
            if self.out.exists():
                if marker_of(self.out) is None:  # appeared while we worked: still never ours to delete
                    raise OutputError(f"{self.out}: appeared while sim was writing it; the new output is in "
                                      f"{self.partial}")
                old = self.out.with_name(f".{self.out.name}.replaced-{os.getpid()}")
                os.rename(self.out, old)
            try:
                os.rename(self.partial, self.out)
            except BaseException:
                if old is not None:
                    os.rename(old, self.out)
                raise
            self._made = False
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OutputError:
            self._lock.release()
            raise
        except BaseException:
            self._cleanup()
            raise
        self._lock.release()
        return self.out

    def abort(self) -> None:
        """Remove the staging directory (ours) and release the lock."""
        self._cleanup()

    def _cleanup(self) -> None:
        try:
            if self._made and self.partial.is_dir() and not self.partial.is_symlink():
                self._made = False
                shutil.rmtree(self.partial, ignore_errors=True)
        finally:
            self._lock.release()
            for d in self._made_parents:  # deepest first; only the empty folders this output created
                try:
                    d.rmdir()
                except OSError:
                    break

    def __enter__(self) -> Path:
        return self.partial

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a finished output of the tool (marker present, not a staging directory)."""
    return not str(path).endswith(".partial") and marker_of(Path(path)) is not None


class OwnedDir:
    """A directory the tool keeps working in across commands (a batch, resumable), held under its lock.

    A new ``out`` is created with the marker; an existing one must carry the
    marker of the same ``kind`` and is continued (``resume``) or replaced
    (``force``); anything else is refused with :class:`OutputError`.
    """

    def __init__(self, out: Path, *, kind: str, resume: bool = False, force: bool = False,
                 option: str = "--out"):
        self.out = Path(out)
        exists = self.out.exists() or self.out.is_symlink()
        if not (exists and resume):
            check_out(self.out, force=force, kind=kind, option=option)
        elif self.out.is_symlink() or not self.out.is_dir() or (marker_of(self.out) or {}).get("kind") != kind:
            raise OutputError(f"{option} {self.out}: --resume needs a {kind} directory made by sim; "
                              "nothing was changed")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self._lock = _Lock(self.out.with_name(self.out.name + ".lock"), self.out)
        except OSError as exc:
            raise OutputError(f"{option} {self.out}: cannot create or lock it ({exc.strerror})") from None
        try:
            if exists and not resume:
                shutil.rmtree(self.out)  # ours (marker checked above) and --force given
            if not self.out.exists():
                self.out.mkdir()
                write_marker(self.out, kind)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        self._lock.release()


NAME_CHARS = "letters, digits, '_', '-' and '.' (not first), at most 100"


def safe_name(name: str) -> str | None:
    """Why ``name`` cannot name a file or folder inside an output directory, or None when it can."""
    import re

    if not re.fullmatch(r"[^\W][\w.\-]{0,99}", name) or name.endswith((".partial", ".lock")):
        return f"{name!r} cannot name a folder inside the output ({NAME_CHARS}; not ending .partial or .lock)"
    return None
