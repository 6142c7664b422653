"""Tensors from a ``.safetensors`` file as numpy arrays (the format is a JSON header and
raw little-endian data; no library needed)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path: Path) -> dict[str, Any]:
    """Name -> numpy array of every tensor in the file (memory-mapped, read-only)."""
    import numpy as np

    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = np.dtype(_DTYPES[spec["dtype"]])
        tensors[name] = data[start:end].view(dtype).reshape(spec["shape"])
    return tensors
