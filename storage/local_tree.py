"""Blocking filesystem work for the local object store (run it in a thread).

Layout under the configured root::

    objects/<key>   the object's bytes, exactly as uploaded
    meta/<key>      sidecar: JSON {"content_type": ...}
    tmp/            writes in progress; renamed into objects/ when complete

Sidecars and temp files live in their own trees because every file name is a
valid key segment: a sidecar or temp file next to the object could collide
with a real key and would show up in listings. tmp/ is inside the root and
checked to be on the same filesystem, so os.replace from it is atomic.

Every path below the root is walked one component at a time with directory
file descriptors and O_NOFOLLOW, so a symlink planted anywhere in the tree is
never followed (no check-then-open race as with resolve()), and a reader
holding an open file keeps the version it opened even if it is replaced.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from storage.base import DEFAULT_CONTENT_TYPE
from storage.errors import InvalidObjectKey, ObjectNotFound, StorageUnavailable
from storage.keys import is_valid_key

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a planted FIFO must not hang the thread; it has no
# effect on regular files, which are the only thing we go on to read.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Only the service reads these files.
_FILE_MODE = 0o600
_DIR_MODE = 0o700
# A temp file untouched this long belongs to a crashed writer (a live one
# keeps bumping its mtime with every write).
_STALE_TEMP_SECONDS = 24 * 3600
# A concurrent delete may prune a directory a commit is about to use.
_COMMIT_ATTEMPTS = 5

OBJECTS = "objects"
META = "meta"
TMP = "tmp"


@dataclass
class TempFile:
    name: str
    fd: int  # -1 once closed


@dataclass(frozen=True)
class FileFacts:
    size: int
    mtime: float


class LocalTree:
    def __init__(self, root: Path) -> None:
        # The root itself may be a symlink the operator chose; only what is
        # below it is walked without following links.
        self.root = Path(os.path.abspath(root.expanduser()))

    # -- setup ---------------------------------------------------------------

    def prepare(self) -> None:
        try:
            self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            with self._open_root() as root_fd:
                devices = set()
                for area in (OBJECTS, META, TMP):
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(area, _DIR_MODE, dir_fd=root_fd)
                    with _closing(os.open(area, _DIR_FLAGS, dir_fd=root_fd)) as fd:
                        devices.add(os.fstat(fd).st_dev)
                if len(devices) != 1:
                    raise StorageUnavailable(
                        f"local storage {self.root}: objects/, meta/ and tmp/ must be on one "
                        "filesystem so that writes can be renamed into place atomically"
                    )
            self._remove_stale_temps()
            self.discard_temp(self.create_temp())  # proves we can write
        except StorageUnavailable:
            raise
        except OSError as exc:
            raise StorageUnavailable(f"local storage {self.root} is not usable: {exc}") from exc

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - _STALE_TEMP_SECONDS
        with self._open_area(TMP) as tmp_fd, os.scandir(tmp_fd) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.name, dir_fd=tmp_fd)

    # -- writing -------------------------------------------------------------

    def create_temp(self) -> TempFile:
        name = f"{uuid.uuid4().hex}.tmp"
        with self._open_area(TMP) as tmp_fd:
            fd = os.open(name, _NEW_FILE_FLAGS, _FILE_MODE, dir_fd=tmp_fd)
        return TempFile(name, fd)

    def write_temp(self, temp: TempFile, chunks: Sequence[bytes]) -> None:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:  # os.write may write less than asked
                view = view[os.write(temp.fd, view) :]

    def seal_temp(self, temp: TempFile) -> FileFacts:
        """Flush to disk and close; the facts are the object's once renamed."""
        os.fsync(temp.fd)
        facts = os.fstat(temp.fd)
        os.close(temp.fd)
        temp.fd = -1
        return FileFacts(facts.st_size, facts.st_mtime)

    def discard_temp(self, temp: TempFile) -> None:
        if temp.fd >= 0:
            os.close(temp.fd)
            temp.fd = -1
        with self._open_area(TMP) as tmp_fd, contextlib.suppress(FileNotFoundError):
            os.unlink(temp.name, dir_fd=tmp_fd)

    def commit(self, key: str, temp: TempFile, content_type: str) -> None:
        """Rename the sealed temp file to the key, then write its sidecar.

        The bytes go first: a crash in between leaves a complete object whose
        sidecar is stale or missing (read as the default type), never a
        sidecar without an object.
        """
        parts = key.split("/")
        sidecar = self._write_sidecar_temp(content_type)
        try:
            self._rename_into(OBJECTS, parts, temp.name)
            self._rename_into(META, parts, sidecar.name)
        finally:
            self.discard_temp(sidecar)  # no-op once renamed

    def _write_sidecar_temp(self, content_type: str) -> TempFile:
        temp = self.create_temp()
        try:
            self.write_temp(temp, [json.dumps({"content_type": content_type}).encode()])
            self.seal_temp(temp)
        except BaseException:
            self.discard_temp(temp)
            raise
        return temp

    def _rename_into(self, area: str, parts: list[str], temp_name: str) -> None:
        for attempt in range(_COMMIT_ATTEMPTS):
            with self._open_area(TMP) as tmp_fd, self._open_area(area) as area_fd:
                try:
                    with _closing(_open_dir(area_fd, parts[:-1], create=True)) as dir_fd:
                        os.replace(temp_name, parts[-1], src_dir_fd=tmp_fd, dst_dir_fd=dir_fd)
                        os.fsync(dir_fd)  # make the rename itself durable
                        return
                except FileNotFoundError:
                    # Our directory was pruned by a concurrent delete between
                    # walking and renaming; walk again.
                    if attempt == _COMMIT_ATTEMPTS - 1:
                        raise
                except (NotADirectoryError, IsADirectoryError) as exc:
                    raise InvalidObjectKey(
                        f"cannot store {'/'.join(parts)!r}: an object, folder or link "
                        "is in the way in the local store"
                    ) from exc

    # -- reading -------------------------------------------------------------

    def open_object(self, key: str) -> int:
        """Open the object for reading; the caller closes the returned fd."""
        parts = key.split("/")
        with self._open_area(OBJECTS) as area_fd:
            try:
                with _closing(_open_dir(area_fd, parts[:-1], create=False)) as dir_fd:
                    fd = os.open(parts[-1], _READ_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise _not_found_or(exc, key) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ObjectNotFound(key)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read_all(self, key: str) -> bytes:
        with open(self.open_object(key), "rb", closefd=True) as file:
            return file.read()

    def stat_object(self, key: str) -> tuple[FileFacts, str]:
        parts = key.split("/")
        with self._open_area(OBJECTS) as area_fd:
            try:
                with _closing(_open_dir(area_fd, parts[:-1], create=False)) as dir_fd:
                    facts = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                raise _not_found_or(exc, key) from exc
        if not stat.S_ISREG(facts.st_mode):
            raise ObjectNotFound(key)
        return FileFacts(facts.st_size, facts.st_mtime), self.content_type(key)

    def content_type(self, key: str) -> str:
        parts = key.split("/")
        try:
            with self._open_area(META) as area_fd:
                with _closing(_open_dir(area_fd, parts[:-1], create=False)) as dir_fd:
                    fd = os.open(parts[-1], _READ_FLAGS, dir_fd=dir_fd)
                with open(fd, "rb", closefd=True) as file:
                    value = json.loads(file.read(4096)).get("content_type")
        except (OSError, ValueError, AttributeError):
            # No sidecar (crash between rename and sidecar) or a damaged one:
            # the bytes are intact, only the type is unknown.
            return DEFAULT_CONTENT_TYPE
        return value if isinstance(value, str) and value else DEFAULT_CONTENT_TYPE

    def walk(self, prefix: str) -> Iterator[tuple[str, FileFacts]]:
        """Yield (key, facts) of regular files whose key starts with prefix, in any order."""
        start = prefix.split("/")[:-1]  # the deepest folder the prefix fully names
        # Folders still to read are kept as names and opened one at a time:
        # a descriptor per folder would run out on a wide tree (every script
        # has a folder of its own under its owner's).
        stack = [start]
        with self._open_area(OBJECTS) as area_fd:
            while stack:
                parts = stack.pop()
                try:
                    dir_fd = _open_dir(area_fd, parts, create=False)
                except OSError as exc:
                    if parts is start and not _is_missing(exc):
                        raise
                    continue  # the prefix names nothing, or a folder vanished or was swapped
                rel = "/".join(parts)
                with _closing(dir_fd), os.scandir(dir_fd) as entries:
                    for entry in entries:
                        key = f"{rel}/{entry.name}" if rel else entry.name
                        if entry.is_dir(follow_symlinks=False):
                            if (key + "/").startswith(prefix) or prefix.startswith(key + "/"):
                                stack.append([*parts, entry.name])
                        elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
                            if not is_valid_key(key):
                                continue  # put there by hand; not addressable as an object
                            with contextlib.suppress(FileNotFoundError):
                                facts = entry.stat(follow_symlinks=False)
                                yield key, FileFacts(facts.st_size, facts.st_mtime)

    # -- deleting ------------------------------------------------------------

    def delete(self, key: str) -> bool:
        """Remove object and sidecar, then empty parent folders; True if it existed.

        The sidecar goes first so that a crash never leaves one without an object.
        """
        parts = key.split("/")
        self._unlink_and_prune(META, parts)
        return self._unlink_and_prune(OBJECTS, parts)

    def _unlink_and_prune(self, area: str, parts: list[str]) -> bool:
        with self._open_area(area) as area_fd:
            chain = [os.dup(area_fd)]
            try:
                for part in parts[:-1]:
                    chain.append(os.open(part, _DIR_FLAGS, dir_fd=chain[-1]))
                entry = os.stat(parts[-1], dir_fd=chain[-1], follow_symlinks=False)
                if stat.S_ISDIR(entry.st_mode):
                    return False  # a folder of other objects, not an object
                os.unlink(parts[-1], dir_fd=chain[-1])
            except OSError as exc:
                if _is_missing(exc):
                    return False
                raise
            else:
                # chain[i] holds parts[i]; rmdir fails (and we stop) at the
                # first folder that is not empty, which may be a concurrent write.
                for index in range(len(chain) - 1, 0, -1):
                    try:
                        os.rmdir(parts[index - 1], dir_fd=chain[index - 1])
                    except OSError:
                        break
                return True
            finally:
                for fd in chain:
                    os.close(fd)

    # -- helpers -------------------------------------------------------------

    @contextlib.contextmanager
    def _open_root(self) -> Iterator[int]:
        with _closing(os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)) as fd:
            yield fd

    @contextlib.contextmanager
    def _open_area(self, area: str) -> Iterator[int]:
        try:
            with self._open_root() as root_fd:
                fd = os.open(area, _DIR_FLAGS, dir_fd=root_fd)
        except OSError as exc:
            raise StorageUnavailable(
                f"local storage {self.root}/{area} cannot be opened ({exc}); "
                "was ensure_ready() called?"
            ) from exc
        with _closing(fd):
            yield fd


def _open_dir(base_fd: int, parts: Sequence[str], *, create: bool) -> int:
    """Open base/parts[0]/parts[1]/... without following symlinks; caller closes."""
    fd = os.dup(base_fd)
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, _DIR_MODE, dir_fd=fd)
                    os.fsync(fd)  # the new entry must survive a crash like the file will
                except FileExistsError:
                    pass
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


def _is_missing(exc: OSError) -> bool:
    # ENOTDIR: a path component is a file or a symlink; ELOOP: the last one
    # is a symlink. Neither is an object we stored.
    return exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


def _not_found_or(exc: OSError, key: str) -> Exception:
    return ObjectNotFound(key) if _is_missing(exc) else exc
