"""Crash-safe, private file writes and permission checks.

Owns how secrets and state reach the disk: write to a temporary file in the same folder, fsync,
rename, fsync the folder, so a kill -9 or power loss leaves either the old or the new file
(IoT-1005-1 5.6.1.1). Files holding secrets are created 0600 (IoT-1005-1 5.4.1.2).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path


class PermissionProblem(Exception):
    """A file or folder that must be private is readable or writable by others."""


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600, *, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content.

    ``sync_dir=False`` skips the fsync of the folder after the rename, for a file whose caller
    tolerates the rename itself being lost in a crash (the old content then stays).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` across processes and threads (``flock`` on a
    ``.<name>.lock`` file beside it, so the protected file itself can be replaced atomically
    while the lock is held)."""
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def check_private(path: Path, *, is_dir: bool = False) -> None:
    """Refuse a secret file or folder that others can reach or that another user owns."""
    st = path.stat()
    if is_dir != stat.S_ISDIR(st.st_mode):
        raise PermissionProblem(f"{path} is not a {'folder' if is_dir else 'file'}")
    if st.st_uid != os.geteuid():
        raise PermissionProblem(f"{path} is owned by uid {st.st_uid}, not by this service")
    if st.st_mode & 0o077:
        raise PermissionProblem(
            f"{path} has loose permissions {stat.filemode(st.st_mode)}; "
            f"run: chmod {'700' if is_dir else '600'} {path}"
        )
