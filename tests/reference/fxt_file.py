"""The FXT1 fixture file the C++ tests read (tests/support/op_fixture.h).

Little-endian: b"FXT1", u32 case count; per case: u16 name length + name, u16 array count; per
array: u16 name length + name, u8 dtype (1 f32, 3 i32), u8 rank, i64 dims[rank], then the data.
"""
import struct

import numpy as np


def write_fxt(path, cases):
    """cases: [(name, {key: float32 or int32 array})]."""
    with open(path, "wb") as f:
        f.write(b"FXT1" + struct.pack("<I", len(cases)))
        for name, arrays in cases:
            f.write(struct.pack("<H", len(name)) + name.encode())
            f.write(struct.pack("<H", len(arrays)))
            for key, array in arrays.items():
                array = np.ascontiguousarray(array)
                code = {np.dtype(np.float32): 1, np.dtype(np.int32): 3}[array.dtype]
                f.write(struct.pack("<H", len(key)) + key.encode())
                f.write(struct.pack("<BB", code, array.ndim))
                f.write(struct.pack(f"<{array.ndim}q", *array.shape))
                f.write(array.astype(array.dtype.newbyteorder("<")).tobytes())
