"""The disk spool: order, durability across reopen, torn writes, the size bound, cleanup."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from watchkeeper.ingest.sidecar.spool import (
    LargerThanSpool,
    Spool,
    SpoolError,
    SpoolFull,
    encode_record,
)


def _messages(prefix: str, count: int, size: int = 10) -> list[tuple[bytes, bytes]]:
    return [
        (f"{prefix}-{i}".encode(), f"{prefix}-{i}:".encode() + b"x" * size) for i in range(count)
    ]


def _drain(spool: Spool) -> list[tuple[bytes, bytes]]:
    out = []
    while entries := spool.read(max_records=7):
        out.extend((entry.key, entry.value) for entry in entries)
        spool.commit(entries)
    return out


def test_records_come_back_in_order_and_commit_releases_them(tmp_path: Path) -> None:
    """Appended messages are read back in append order; committed ones are not read again."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(_messages("a", 5))
    spool.append(_messages("b", 5))
    first = spool.read(max_records=3)
    assert [e.key for e in first] == [b"a-0", b"a-1", b"a-2"]
    assert [e.key for e in spool.read(max_records=3)] == [b"a-0", b"a-1", b"a-2"]  # not consumed
    spool.commit(first)
    assert spool.pending_records == 7
    assert _drain(spool) == _messages("a", 5)[3:] + _messages("b", 5)
    assert spool.pending_records == 0
    assert spool.pending_bytes == 0
    spool.close()


def test_pending_records_survive_reopen_and_commits_are_remembered(tmp_path: Path) -> None:
    """After close (or a crash) and reopen, exactly the uncommitted messages are pending."""
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=64 * 1024)
    for i in range(30):  # several segments
        spool.append(_messages(f"a{i}", 10, size=500))
    entries = spool.read(max_records=120)
    spool.commit(entries)
    spool.close()

    reopened = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=64 * 1024)
    assert reopened.pending_records == 180
    expected = [m for i in range(30) for m in _messages(f"a{i}", 10, size=500)]
    assert _drain(reopened) == expected[120:]
    assert len(list(tmp_path.glob("*.seg"))) == 1
    reopened.close()
    again = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=64 * 1024)
    assert again.pending_records == 0
    assert again.read() == []
    again.close()


def test_torn_tail_from_a_crash_is_cut_and_counted(tmp_path: Path) -> None:
    """A record half-written when the process died is cut off; the ones before it stay."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(_messages("a", 3))
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    torn = encode_record(b"torn", b"y" * 100, 0)
    with open(segment, "ab") as handle:
        handle.write(torn[: len(torn) // 2])

    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert reopened.corrupt_records == 1
    assert _drain(reopened) == _messages("a", 3)
    # New appends land after the good records, not after the garbage.
    reopened.append(_messages("b", 2))
    assert _drain(reopened) == _messages("b", 2)
    reopened.close()


def test_damaged_record_is_detected_by_its_checksum(tmp_path: Path) -> None:
    """A flipped byte inside a record makes it (and what follows in its segment) unreadable."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(_messages("a", 4))
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    record = len(encode_record(b"a-0", b"a-0:" + b"x" * 10, 0))
    data[2 * record + 20] ^= 0xFF  # inside the third record's body
    segment.write_bytes(bytes(data))

    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert reopened.corrupt_records == 1
    assert _drain(reopened) == _messages("a", 2)
    reopened.close()


def test_full_spool_refuses_whole_requests_and_accepts_again_once_drained(tmp_path: Path) -> None:
    """Over the bound, append raises SpoolFull and writes nothing; forwarding frees space."""
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=64 * 1024)
    request = _messages("r", 10, size=10_000)  # about 100 KB per request
    for _ in range(10):
        spool.append(request)
    with pytest.raises(SpoolFull):
        spool.append(request)
    assert spool.pending_records == 100  # the refused request left nothing behind
    assert spool.disk_bytes <= 1 << 20
    assert sum(p.stat().st_size for p in tmp_path.glob("*.seg")) == spool.disk_bytes
    assert len(_drain(spool)) == 100
    assert spool.disk_bytes == 0  # forwarded segments are deleted
    spool.append(request)
    assert spool.pending_records == 10
    spool.close()


def test_request_larger_than_the_whole_spool_is_refused_for_good(tmp_path: Path) -> None:
    """What could never fit raises LargerThanSpool (answered 413, not retried), not
    SpoolFull (503, which the client would retry forever)."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    with pytest.raises(LargerThanSpool):
        spool.append([(b"k", b"x" * (1 << 20))])
    assert spool.pending_records == 0
    assert spool.disk_bytes == 0
    spool.close()


def test_forwarded_segments_are_deleted_and_only_a_fresh_one_remains(tmp_path: Path) -> None:
    """Once everything is committed, the spool directory holds one empty segment."""
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=64 * 1024)
    for _ in range(10):
        spool.append(_messages("a", 10, size=2000))  # about 20 KB per request
    assert len(list(tmp_path.glob("*.seg"))) > 1
    _drain(spool)
    segments = list(tmp_path.glob("*.seg"))
    assert len(segments) == 1
    assert segments[0].stat().st_size == 0
    spool.close()


def test_concurrent_appends_keep_each_writers_order(tmp_path: Path) -> None:
    """Appends from many threads interleave whole requests; each thread's order is kept."""
    spool = Spool(tmp_path, max_bytes=64 << 20, fsync=False)

    def writer(name: str) -> None:
        for i in range(50):
            spool.append([(f"{name}".encode(), f"{i}".encode())])

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen: dict[bytes, list[int]] = {}
    for key, value in _drain(spool):
        seen.setdefault(key, []).append(int(value))
    assert seen == {f"w{n}".encode(): list(range(50)) for n in range(8)}
    spool.close()


def test_a_spool_directory_has_one_owner(tmp_path: Path) -> None:
    """A second spool on the same directory is refused with a message naming the owner."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    with pytest.raises(SpoolError, match="in use by another process"):
        Spool(tmp_path, max_bytes=1 << 20)
    spool.close()
    Spool(tmp_path, max_bytes=1 << 20).close()  # free again once closed


def test_closed_spool_refuses_appends(tmp_path: Path) -> None:
    """Appending after close raises SpoolError (the receiver answers 503: retry)."""
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.close()
    with pytest.raises(SpoolError, match="closed"):
        spool.append(_messages("a", 1))
