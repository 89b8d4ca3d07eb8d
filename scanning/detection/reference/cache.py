"""A persistent cache of the built reference tables, so only the first process after an install or an upgrade pays
for building them (seconds of parsing package data; see docs/operations.md) and later ones read them back.

* **Where.** ``RACINE_REFERENCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/racine/reference``, else
  ``~/.cache/racine/reference``; ``off`` turns the cache off. The engine is a library without Django, so it reads
  the environment itself.
* **What.** One file per table, ``<module>.<table>.pickle``: a header line with the key, then the pickled value.
  The key hashes this cache's format, the Python version, the installed versions of the packages the table is
  built from and the sources of the modules that build it: an upgrade or an edit makes the file stale, and a stale,
  unreadable or corrupt file is rebuilt and replaced.
* **Writes** go to a temporary file in the same folder, renamed over the old one (``os.replace`` is atomic): a
  concurrent reader sees the old file or the new one, never half of one, and two processes building at once both
  write a whole file and the last rename wins.
* **Why pickle, and why it is safe here.** The tables are dicts, frozensets, arrays and small dataclasses; pickle
  reads them back several times faster than any text format could be parsed. But loading a pickle runs code the
  file names, so the file must come from this user alone: the folder must be owned by the effective user and
  writable by nobody else (it is created ``0700``), and so must the file, checked on the opened descriptor
  (``O_NOFOLLOW``, ``fstat``) so it cannot be swapped between check and read. A folder that fails the check is
  refused with a warning and the tables are built in memory, as without a cache. Signing the files instead would
  need a secret kept in just such a private place, so it would add nothing.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import os
import pickle
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

ENV = "RACINE_REFERENCE_CACHE_DIR"
_FORMAT = b"racine-reference-cache 1"

logger = logging.getLogger(__name__)
T = TypeVar("T")


def directory() -> Path | None:
    """The configured folder (not yet checked), or None when the cache is off or no home is known."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value)
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (KeyError, RuntimeError):  # no HOME and no passwd entry (a container's arbitrary uid)
        return None
    return base / "racine" / "reference"


def _owned_privately(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def private_directory() -> Path | None:
    """The folder, created if missing, if it is owned by this user and writable by no one else; else None."""
    path = directory()
    if path is None:
        return None
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as exc:
        _warn_once(f"reference cache off: cannot use {path} ({exc})")
        return None
    if not stat.S_ISDIR(st.st_mode) or not _owned_privately(st):
        _warn_once(f"reference cache off: {path} is not a folder owned by uid {os.geteuid()} and writable by "
                   f"no one else (loading a pickle from it would run whatever was put there)")
        return None
    return path


@functools.cache
def _warn_once(message: str) -> None:
    logger.warning(message)


@functools.cache
def key(sources: tuple[str, ...], packages: tuple[str, ...]) -> bytes:
    """Hex digest of the format, Python, the packages' installed versions and the sources' bytes."""
    digest = hashlib.sha256(_FORMAT)
    digest.update(sys.version.encode())
    for package in packages:
        digest.update(f"\0{package}=={importlib.metadata.version(package)}".encode())
    for source in sources:
        digest.update(b"\0" + Path(source).read_bytes())
    return digest.hexdigest().encode()


def _read(path: Path, expected: bytes) -> tuple[bool, object]:
    """(found, value): found only for a private, current, readable file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False, None  # missing (the usual cold case), or a symbolic link
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _owned_privately(st):
            _warn_once(f"reference cache: ignoring {path}, not a file owned by this user alone")
            return False, None
        if handle.readline().rstrip(b"\n") != expected:
            return False, None  # stale: another version of the packages or of the code built it
        try:
            return True, pickle.load(handle)
        # A truncated or corrupt pickle raises whatever the byte it stops at leads to (EOFError,
        # UnpicklingError, ValueError, AttributeError, …); any of them means "rebuild".
        except Exception as exc:  # noqa: BLE001
            logger.warning("reference cache: rebuilding %s, unreadable (%r)", path.name, exc)
            return False, None


def _write(path: Path, header: bytes, value: object) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(header + b"\n")
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(name: str, build: Callable[[], T], *, sources: Iterable[str], packages: Iterable[str]) -> T:
    """The table ``name`` from the cache if present and current, else ``build()`` (then cached if possible)."""
    folder = private_directory()
    header = key(tuple(sources), tuple(packages))
    path = folder / f"{name}.pickle" if folder else None
    if path is not None:
        found, value = _read(path, header)
        if found:
            return value
    started = time.perf_counter()
    value = build()
    logger.info("reference table %s built in %.1f s", name, time.perf_counter() - started)
    if path is not None:
        try:
            _write(path, header, value)
        except OSError as exc:  # full disk, read-only mount: the process goes on with the table it built
            _warn_once(f"reference cache: cannot write {path} ({exc})")
    return value


def table(module: str, *, sources: Iterable[str], packages: Iterable[str]):
    """Decorator: a builder becomes a once-per-process accessor backed by the persistent cache. The builder
    itself stays reachable as ``__wrapped__`` (tests compare the two)."""
    sources, packages = tuple(sources), tuple(packages)

    def decorate(build: Callable[[], T]) -> Callable[[], T]:
        @functools.cache
        @functools.wraps(build)
        def accessor() -> T:
            return load(f"{module}.{build.__name__}", build, sources=sources, packages=packages)

        accessor.__wrapped__ = build
        return accessor

    return decorate
