"""A durable, bounded, append-only on-disk queue of Kafka messages.

Layout of the spool directory::

    00000000000000000001.seg   segment files: records appended in order
    00000000000000000002.seg
    committed                  "<segment> <offset>": everything before it is in Kafka
    lock                       flock'ed by the one process that owns the spool

A record is ``length:u32 crc32:u32`` followed by ``length`` bytes of body:
``appended_ms:u64 key_length:u16 key value``. The CRC covers the body, so a record torn
by a crash in the middle of a write is recognised when the spool is opened again and cut
off (it was never acknowledged to the client, which retries it).

Durability: :meth:`Spool.append` writes all records of one request with one ``write`` and,
with ``fsync=True`` (the default), ``fsync``s before returning, so an OTLP client that got
its 200 loses nothing to a process crash, a restart or a power cut. With ``fsync=False``
the data survives a crash of the process (it is in the kernel's page cache) but not of
the machine. The committed position is replaced atomically (write, fsync, rename).

Bound: the sum of the segment files' sizes never exceeds ``max_bytes``;
:meth:`Spool.append` raises :class:`SpoolFull` instead, and the receiver answers 503 so
the client keeps the data and retries. Fully forwarded segments are deleted at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct(">II")  # body length, crc32(body)
_BODY_HEAD = struct.Struct(">QH")  # appended at (unix ms), key length
_SUFFIX = ".seg"
_COMMIT_FILE = "committed"
_LOCK_FILE = "lock"
#: Upper bound of one segment file; smaller spools use an eighth of their bound, so that
#: deleting forwarded segments frees space in steps much smaller than the whole spool.
MAX_SEGMENT_BYTES = 64 * 1024 * 1024
MIN_SEGMENT_BYTES = 64 * 1024


class SpoolError(RuntimeError):
    """The spool cannot be used (locked by another process, disk error); says why."""


class SpoolFull(SpoolError):  # noqa: N818 - names the condition, like queue.Full
    """Appending would exceed the spool's size bound; nothing was written."""


class LargerThanSpool(SpoolError):  # noqa: N818 - names the condition
    """The messages exceed the spool's whole bound: they can never be taken (no retry)."""


@dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset inside that segment."""

    segment: int
    offset: int


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled Kafka message and where the spool continues after it."""

    key: bytes
    value: bytes
    appended_ms: int
    #: position right after this record: commit it once the message is in Kafka
    end: Position
    #: bytes the record takes on disk (header included)
    size: int


def encode_record(key: bytes, value: bytes, appended_ms: int) -> bytes:
    """The on-disk form of one record."""
    body = _BODY_HEAD.pack(appended_ms, len(key)) + key + value
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


class Spool:
    """Kafka messages (key, value) waiting to be forwarded, kept on disk in order.

    One writer side (:meth:`append`, thread-safe, called by HTTP handlers) and one reader
    side (:meth:`read`, :meth:`commit`, called by the forwarder thread only).

    >>> import tempfile
    >>> spool = Spool(Path(tempfile.mkdtemp()), max_bytes=1 << 20)
    >>> spool.append([(b"trace-1", b"spans"), (b"trace-2", b"more spans")])
    >>> [entry.key for entry in spool.read()]
    [b'trace-1', b'trace-2']
    >>> spool.commit(spool.read())
    >>> spool.pending_records, spool.read()
    (0, [])
    >>> spool.close()
    """

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        *,
        segment_bytes: int | None = None,
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(
            MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, max_bytes // 8)
        )
        self.fsync = fsync
        #: records cut off when the spool was opened (torn by a crash, or damaged)
        self.corrupt_records = 0
        self.pending_records = 0
        self.pending_bytes = 0
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._sizes: dict[int, int] = {}  # segment number -> bytes on disk, in order
        self._disk_bytes = 0  # sum of _sizes, kept up to date under the lock
        self._readers: dict[int, int] = {}  # segment number -> read-only fd
        self._closed = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._take_lock()
        try:
            self._committed = self._recover()
            self._active = max(self._sizes)
            self._fd = os.open(self._path(self._active), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except BaseException:
            os.close(self._lock_fd)
            raise

    # -- writer side ------------------------------------------------------------------------

    def append(self, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """Store ``(key, value)`` messages durably, all or none.

        Raises:
            SpoolFull: they do not fit under ``max_bytes`` now (nothing written).
            LargerThanSpool: they would not fit even into an empty spool.
            SpoolError: the write failed (nothing written) or the spool is closed.
        """
        if not messages:
            return
        now_ms = time.time_ns() // 1_000_000
        data = b"".join(encode_record(key, value, now_ms) for key, value in messages)
        if len(data) > self.max_bytes:
            raise LargerThanSpool(f"{len(data)} bytes exceed the spool's bound of {self.max_bytes}")
        with self._lock:
            if self._closed:
                raise SpoolError("the spool is closed")
            if self._disk_bytes + len(data) > self.max_bytes:
                raise SpoolFull(
                    f"spool holds {self._disk_bytes} of {self.max_bytes} bytes; "
                    f"{len(data)} more do not fit"
                )
            size = self._sizes[self._active]
            if size >= self.segment_bytes:
                self._roll()
                size = 0
            try:
                _write_all(self._fd, data)
                if self.fsync:
                    os.fsync(self._fd)
            except OSError as exc:
                # A partial record must not stay behind the good ones.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, size)
                raise SpoolError(f"cannot write to the spool: {exc.strerror or exc}") from None
            self._sizes[self._active] = size + len(data)
            self._disk_bytes += len(data)
            self.pending_records += len(messages)
            self.pending_bytes += len(data)
            self._appended.notify_all()

    # -- reader side ------------------------------------------------------------------------

    def wait(self, timeout_s: float) -> bool:
        """Block until something is pending (True) or ``timeout_s`` passed (False)."""
        with self._lock:
            if self.pending_records == 0 and not self._closed:
                self._appended.wait(timeout_s)
            return self.pending_records > 0

    def read(self, max_records: int = 500, max_bytes: int = 4 * 1024 * 1024) -> list[SpoolEntry]:
        """The oldest uncommitted records, in order (at least one if any is pending)."""
        with self._lock:
            if self._closed:
                return []
            position = self._committed
            sizes = dict(self._sizes)
        out: list[SpoolEntry] = []
        taken = 0
        segment, offset = position.segment, position.offset
        while len(out) < max_records and (taken < max_bytes or not out):
            end = sizes.get(segment)
            if end is None:
                break
            if offset >= end:
                later = [s for s in sizes if s > segment]
                if not later:
                    break
                segment, offset = min(later), 0
                continue
            entry = self._read_one(segment, offset)
            out.append(entry)
            taken += entry.size
            offset = entry.end.offset
        return out

    def commit(self, entries: Sequence[SpoolEntry]) -> None:
        """Release ``entries`` (a prefix of what :meth:`read` returned): they are in Kafka."""
        if not entries:
            return
        with self._lock:
            if self._closed:  # shutting down mid-send: these are sent again next time
                return
            position = entries[-1].end
            self.pending_records -= len(entries)
            self.pending_bytes -= sum(entry.size for entry in entries)
            if position.segment == self._active and position.offset == self._sizes[self._active]:
                # Caught up: start a fresh segment so the forwarded one can go at once.
                self._roll()
            position = self._skip_finished(position)
            self._committed = position
            self._write_commit(position)
            for segment in [s for s in self._sizes if s < position.segment]:
                self._delete(segment)

    def oldest_appended_ms(self) -> int | None:
        """When the oldest pending record was appended (unix ms), or None."""
        with self._lock:
            if self.pending_records == 0 or self._closed:
                return None
            position = self._committed
            # A fresh descriptor: the forwarder thread owns the cached ones.
            with open(self._path(position.segment), "rb") as handle:
                head = os.pread(handle.fileno(), _HEADER.size + _BODY_HEAD.size, position.offset)
        if len(head) < _HEADER.size + _BODY_HEAD.size:
            return None
        appended_ms, _ = _BODY_HEAD.unpack_from(head, _HEADER.size)
        return int(appended_ms)

    @property
    def disk_bytes(self) -> int:
        """Bytes the segment files take (what ``max_bytes`` bounds)."""
        return self._disk_bytes

    def close(self) -> None:
        """Close files and release the directory lock; pending records stay on disk."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._appended.notify_all()
            os.close(self._fd)
            for fd in self._readers.values():
                os.close(fd)
            self._readers.clear()
            os.close(self._lock_fd)

    # -- internals --------------------------------------------------------------------------

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:020d}{_SUFFIX}"

    def _take_lock(self) -> int:
        fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SpoolError(
                f"spool directory {self.directory} is in use by another process (pid {owner}); "
                "give each sidecar its own --spool-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _recover(self) -> Position:
        """Find the segments, drop forwarded ones, cut torn records, count what is pending."""
        segments = sorted(
            int(path.name[: -len(_SUFFIX)])
            for path in self.directory.glob(f"*{_SUFFIX}")
            if path.name[: -len(_SUFFIX)].isdigit()
        )
        committed = self._read_commit()
        if committed is None:
            committed = Position(segments[0] if segments else 1, 0)
        for segment in segments:
            if segment < committed.segment:
                self._path(segment).unlink()
        segments = [s for s in segments if s >= committed.segment]
        if not segments or segments[0] != committed.segment:
            # The committed segment was deleted after a roll; continue with what is left.
            committed = Position(segments[0] if segments else committed.segment, 0)
        if not segments:
            self._path(committed.segment).touch()
            self._sync_directory()
            segments = [committed.segment]
        for segment in segments:
            start = committed.offset if segment == committed.segment else 0
            self._sizes[segment] = self._scan(segment, start)
        if committed.offset > self._sizes[committed.segment]:
            committed = Position(committed.segment, self._sizes[committed.segment])
        committed = self._skip_finished(committed)
        for segment in [s for s in self._sizes if s < committed.segment]:
            self._path(segment).unlink()
            del self._sizes[segment]
        self._disk_bytes = sum(self._sizes.values())
        return committed

    def _skip_finished(self, position: Position) -> Position:
        """From the end of a finished segment to the start of the next one."""
        while position.segment != max(self._sizes) and position.offset >= self._sizes.get(
            position.segment, 0
        ):
            position = Position(min(s for s in self._sizes if s > position.segment), 0)
        return position

    def _scan(self, segment: int, start: int) -> int:
        """Count the valid records from ``start``; truncate at the first bad one."""
        path = self._path(segment)
        size = path.stat().st_size
        offset = min(start, size)
        with open(path, "rb") as handle:
            handle.seek(offset)
            while offset < size:
                header = handle.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    break
                length, crc = _HEADER.unpack(header)
                body = handle.read(length)
                if len(body) < length or zlib.crc32(body) != crc or length < _BODY_HEAD.size:
                    break
                offset += _HEADER.size + length
                self.pending_records += 1
                self.pending_bytes += _HEADER.size + length
        if offset < size:
            self.corrupt_records += 1
            os.truncate(path, offset)
        return offset

    def _read_one(self, segment: int, offset: int) -> SpoolEntry:
        fd = self._readers.get(segment)
        if fd is None:
            fd = self._readers[segment] = os.open(self._path(segment), os.O_RDONLY)
        length, _ = _HEADER.unpack(os.pread(fd, _HEADER.size, offset))
        body = os.pread(fd, length, offset + _HEADER.size)
        appended_ms, key_length = _BODY_HEAD.unpack_from(body)
        start = _BODY_HEAD.size
        size = _HEADER.size + length
        return SpoolEntry(
            key=body[start : start + key_length],
            value=body[start + key_length :],
            appended_ms=appended_ms,
            end=Position(segment, offset + size),
            size=size,
        )

    def _roll(self) -> None:
        """Start the next segment (caller holds the lock)."""
        if self.fsync:
            os.fsync(self._fd)
        os.close(self._fd)
        self._active += 1
        self._fd = os.open(
            self._path(self._active), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
        )
        self._sizes[self._active] = 0
        self._sync_directory()

    def _delete(self, segment: int) -> None:
        fd = self._readers.pop(segment, None)
        if fd is not None:
            os.close(fd)
        self._disk_bytes -= self._sizes.pop(segment)
        with contextlib.suppress(FileNotFoundError):
            self._path(segment).unlink()

    def _read_commit(self) -> Position | None:
        try:
            text = (self.directory / _COMMIT_FILE).read_text()
            segment, offset = (int(part) for part in text.split())
        except FileNotFoundError:
            return None
        except ValueError:
            # Written atomically, so this is damage from outside; replaying is the safe side.
            return None
        return Position(segment, offset)

    def _write_commit(self, position: Position) -> None:
        path = self.directory / _COMMIT_FILE
        scratch = path.with_suffix(".tmp")
        with open(scratch, "w") as handle:
            handle.write(f"{position.segment} {position.offset}\n")
            handle.flush()
            if self.fsync:
                os.fsync(handle.fileno())
        scratch.replace(path)
        self._sync_directory()

    def _sync_directory(self) -> None:
        # New and renamed files are durable only once their directory entry is.
        if not self.fsync:
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
