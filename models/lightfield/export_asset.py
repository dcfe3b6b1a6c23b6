"""Writer of fovea light-field assets (`.fvlf`, docs/lightfield-asset.md), plus the pieces the
reader shares with it: CRC-32C, the octahedral direction map, the channel layout.

Pure NumPy + zlib, so the writer, reader and reference renderer run anywhere (no torch needed).

    from export_asset import write_asset
    write_asset(path, name=..., k=32, positions=..., uvs=..., triangles=..., atlas=..., atlas_lo=...,
                atlas_hi=..., dirmap=..., dir_lo=..., dir_hi=..., ...)

`atlas` is uint8 [3k/4, H, W, 4] (layer, row, column, RGBA), `dirmap` uint8 [k/4, N, N, 4];
ranges are float32 [4 * layers] (channel q = 4 * layer + rgba index).
"""
import os
import struct
import zlib

import numpy as np

MAGIC = b"\x89FVL\r\n\x1a\n"
VERSION_MAJOR = 1
VERSION_MINOR = 1  # 1.1: the mesh section's fourth field counts one-sided triangles
HEADER_BYTES = 64
SEC_METADATA, SEC_MESH, SEC_ATLAS, SEC_DIRMAP = 1, 2, 3, 4
SECTION_NAMES = {1: "metadata", 2: "mesh", 3: "position atlas", 4: "direction map"}
FORMAT_RGBA8 = 1
DIR_OCTAHEDRAL = 1
ENC_RAW, ENC_ZLIB = 0, 1
FILTER_NONE, FILTER_SUB = 0, 1
MESH_UNSHARED = 1
MAX_SIDE = 4096
BLOB_RECORD = 32

# ---- CRC-32C -------------------------------------------------------------------------------


def _crc_table():
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t[i] = c
    return t


_TABLE = _crc_table()
_TABLE_PY = [int(x) for x in _TABLE]


def _crc_raw_scalar(reg, data):
    """Reflected CRC register update (no conditioning), one byte at a time."""
    tab = _TABLE_PY
    for b in data:
        reg = tab[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def _zeros_operator(n):
    """Columns of the GF(2) linear map 'feed n zero bytes' on the 32-bit register."""
    regs = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)
    for _ in range(n):
        regs = _TABLE[regs & 0xFF] ^ (regs >> np.uint32(8))
    return [int(x) for x in regs]


def _apply(op, reg):
    out = 0
    i = 0
    while reg:
        if reg & 1:
            out ^= op[i]
        reg >>= 1
        i += 1
    return out


def crc32c(data, lanes=4096):
    """CRC-32C (Castagnoli) of bytes. Vectorised over `lanes` interleaved-free lanes of equal
    length, joined with the zero-feed operator: crc(A||B) = Z_|B|(crc(A)) ^ crc0(B)."""
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    n = buf.size
    if n < 4 * lanes:
        return _crc_raw_scalar(0xFFFFFFFF, buf.tolist()) ^ 0xFFFFFFFF
    per = n // lanes
    head = n - per * lanes
    reg0 = _crc_raw_scalar(0xFFFFFFFF, buf[:head].tolist())
    body = buf[head:].reshape(lanes, per)
    regs = np.zeros(lanes, dtype=np.uint32)
    regs[0] = reg0
    cols = np.ascontiguousarray(body.T)  # [per, lanes]
    for t in range(per):
        regs = _TABLE[(regs ^ cols[t]) & np.uint32(0xFF)] ^ (regs >> np.uint32(8))
    op = _zeros_operator(per)
    out = int(regs[0])
    for r in regs[1:].tolist():
        out = _apply(op, out) ^ r
    return out ^ 0xFFFFFFFF


# ---- octahedral direction map (docs/lightfield-asset.md, "Direction to texel") ----------------


def oct_texel(d, R, N):
    """Unit directions [..., 3] (world) -> (i, j) texel indices, int64 each, as the shader does."""
    d = np.asarray(d, dtype=np.float32)
    l = d @ np.asarray(R, dtype=np.float32).T
    l = l / np.abs(l).sum(-1, keepdims=True)
    px, py, pz = l[..., 0], l[..., 1], l[..., 2]
    sx = np.where(px >= 0, 1.0, -1.0).astype(np.float32)
    sy = np.where(py >= 0, 1.0, -1.0).astype(np.float32)
    qx = np.where(pz >= 0, px, (1.0 - np.abs(py)) * sx)
    qy = np.where(pz >= 0, py, (1.0 - np.abs(px)) * sy)
    s = qx * np.float32(0.5) + np.float32(0.5)
    t = qy * np.float32(0.5) + np.float32(0.5)
    i = np.clip(np.floor(s * np.float32(N)), 0, N - 1).astype(np.int64)
    j = np.clip(np.floor(t * np.float32(N)), 0, N - 1).astype(np.int64)
    return i, j


def oct_texel_dirs(R, N):
    """World directions of the N x N texel centres, [N(row j), N(col i), 3]."""
    c = (np.arange(N, dtype=np.float64) + 0.5) / N * 2.0 - 1.0
    px, py = np.meshgrid(c, c, indexing="xy")  # px varies along columns (i), py along rows (j)
    lz = 1.0 - np.abs(px) - np.abs(py)
    sx, sy = np.where(px >= 0, 1.0, -1.0), np.where(py >= 0, 1.0, -1.0)
    lx = np.where(lz >= 0, px, (1.0 - np.abs(py)) * sx)
    ly = np.where(lz >= 0, py, (1.0 - np.abs(px)) * sy)
    l = np.stack([lx, ly, lz], -1)
    l /= np.linalg.norm(l, axis=-1, keepdims=True)
    return (l @ np.asarray(R, dtype=np.float64)).astype(np.float32)  # R^T l, row-vector form


# ---- writer --------------------------------------------------------------------------------


def _pad64(n):
    return (n + 63) // 64 * 64


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def sub_filter(layer):
    """PNG Sub on 4-byte texels of one layer [H, W, 4] uint8 -> bytes."""
    a = layer.astype(np.int16)
    out = a.copy()
    out[:, 1:] = a[:, 1:] - a[:, :-1]
    return (out & 0xFF).astype(np.uint8)


def unsub_filter(stored, H, W):
    a = np.frombuffer(stored, dtype=np.uint8).reshape(H, W, 4)
    return np.cumsum(a.astype(np.uint64), axis=1, dtype=np.uint64).astype(np.uint8)  # mod 256


def encode_blob(raw, compress, layer_shape=None, level=9):
    """Returns (stored bytes, encoding, filter). Tries filters on texture layers, keeps the smallest."""
    if not compress:
        return raw, ENC_RAW, FILTER_NONE
    best = (zlib.compress(raw, level), ENC_ZLIB, FILTER_NONE)
    if layer_shape is not None:
        H, W = layer_shape
        sub = sub_filter(np.frombuffer(raw, dtype=np.uint8).reshape(H, W, 4)).tobytes()
        c = zlib.compress(sub, level)
        if len(c) < len(best[0]):
            best = (c, ENC_ZLIB, FILTER_SUB)
    if len(best[0]) >= len(raw):
        return raw, ENC_RAW, FILTER_NONE
    return best


class _Builder:
    def __init__(self):
        self.buf = bytearray()

    def align(self):
        self.buf += b"\0" * (_pad64(len(self.buf)) - len(self.buf))

    def section_with_blobs(self, head, blobs):
        """head: bytes before the blob directory; blobs: list of (stored, decoded_len, enc, filt).
        Returns (offset, size). The section starts 64-aligned; blobs too."""
        self.align()
        start = len(self.buf)
        dir_at = start + len(head)
        self.buf += head + b"\0" * (BLOB_RECORD * len(blobs))
        recs = []
        for stored, decoded, enc, filt in blobs:
            self.align()
            off = len(self.buf)
            self.buf += stored
            recs.append(struct.pack("<QQQBB6x", off, len(stored), decoded, enc, filt))
        self.buf[dir_at:dir_at + BLOB_RECORD * len(blobs)] = b"".join(recs)
        return start, len(self.buf) - start

    def plain_section(self, payload):
        self.align()
        start = len(self.buf)
        self.buf += payload
        return start, len(payload)


def _f32(a, n):
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    if a.size != n:
        raise ValueError("expected %d floats, got %d" % (n, a.size))
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value")
    return a.astype("<f4").tobytes()


def write_asset(path, *, name, k, positions, uvs, triangles, atlas, atlas_lo, atlas_hi, dirmap, dir_lo,
                dir_hi, bias=(0.0, 0.0, 0.0), background=(1.0, 1.0, 1.0, 1.0), dir_frame=np.eye(3),
                camera=None, description="", provenance="", patch=0, unshared=None, compress=True, one_sided=0):
    """Writes one .fvlf file (to path.partial, then renames). Returns the file size in bytes.

    camera: dict(eye, target, up, fovy, near, far); derived from the bounds when None.
    one_sided: the first one_sided triangles are seen from their counter-clockwise side only
    (orient_faces.py); a renderer may cull their back faces.
    """
    k = int(k)
    if k % 4 or not 4 <= k <= 64:
        raise ValueError("k must be a multiple of 4 in [4, 64], got %d" % k)
    positions = np.ascontiguousarray(positions, dtype="<f4").reshape(-1, 3)
    uvs = np.ascontiguousarray(uvs, dtype="<f4").reshape(-1, 2)
    tris = np.ascontiguousarray(triangles, dtype="<u4").reshape(-1, 3)
    V, T = positions.shape[0], tris.shape[0]
    if uvs.shape[0] != V:
        raise ValueError("uvs and positions differ in count")
    if T == 0 or V == 0 or int(tris.max()) >= V:
        raise ValueError("bad triangles")
    if not 0 <= int(one_sided) <= T:
        raise ValueError("one_sided must be in [0, %d], got %d" % (T, one_sided))
    if unshared is None:
        unshared = V == 3 * T and np.array_equal(tris.reshape(-1), np.arange(3 * T, dtype=np.uint32))
    atlas = np.ascontiguousarray(atlas, dtype=np.uint8)
    dirmap = np.ascontiguousarray(dirmap, dtype=np.uint8)
    if atlas.ndim != 4 or atlas.shape[0] != 3 * k // 4 or atlas.shape[3] != 4:
        raise ValueError("atlas must be [3k/4, H, W, 4], got %s" % (atlas.shape,))
    if dirmap.ndim != 4 or dirmap.shape[0] != k // 4 or dirmap.shape[3] != 4 or dirmap.shape[1] != dirmap.shape[2]:
        raise ValueError("dirmap must be [k/4, N, N, 4], got %s" % (dirmap.shape,))
    for arr in (atlas, dirmap):
        if max(arr.shape[1], arr.shape[2]) > MAX_SIDE:
            raise ValueError("texture side above %d" % MAX_SIDE)
    bmin, bmax = positions.min(0), positions.max(0)
    if camera is None:
        c = 0.5 * (bmin + bmax)
        r = float(np.linalg.norm(bmax - bmin)) * 0.5
        camera = dict(eye=c + np.array([0.0, -3.0 * r, 1.5 * r]), target=c, up=(0, 0, 1), fovy=0.69,
                      near=0.05 * r, far=10.0 * r)

    meta = (_string(name) + _string(description) + _string(provenance)
            + struct.pack("<II", k, 0) + _f32(bias, 3) + _f32(background, 4) + _f32(bmin, 3) + _f32(bmax, 3)
            + _f32(dir_frame, 9) + struct.pack("<I", DIR_OCTAHEDRAL)
            + _f32(camera["eye"], 3) + _f32(camera["target"], 3) + _f32(camera["up"], 3)
            + _f32([camera["fovy"], camera["near"], camera["far"]], 3) + struct.pack("<II", int(patch), 0))

    b = _Builder()
    b.buf += b"\0" * HEADER_BYTES + b"\0" * (24 * 4)
    sections = [(SEC_METADATA,) + b.plain_section(meta)]

    mesh_blobs = []
    for arr in (positions, uvs, tris):
        raw = arr.tobytes()
        stored, enc, filt = encode_blob(raw, compress)
        mesh_blobs.append((stored, len(raw), enc, filt))
    mesh_head = struct.pack("<IIII", V, T, MESH_UNSHARED if unshared else 0, int(one_sided))
    sections.append((SEC_MESH,) + b.section_with_blobs(mesh_head, mesh_blobs))

    for kind, tex, lo, hi in ((SEC_ATLAS, atlas, atlas_lo, atlas_hi), (SEC_DIRMAP, dirmap, dir_lo, dir_hi)):
        L, H, W = tex.shape[:3]
        lo = np.asarray(lo, dtype=np.float32).reshape(-1)
        hi = np.asarray(hi, dtype=np.float32).reshape(-1)
        if np.any(hi < lo):
            raise ValueError("range with hi < lo")
        head = struct.pack("<IIII", W, H, L, FORMAT_RGBA8) + _f32(lo, 4 * L) + _f32(hi, 4 * L)
        blobs = []
        for layer in tex:
            raw = layer.tobytes()
            stored, enc, filt = encode_blob(raw, compress, (H, W))
            blobs.append((stored, len(raw), enc, filt))
        sections.append((kind,) + b.section_with_blobs(head, blobs))

    buf = b.buf
    table = b"".join(struct.pack("<IIQQ", kind, 0, off, size) for kind, off, size in sections)
    buf[HEADER_BYTES:HEADER_BYTES + len(table)] = table
    header = MAGIC + struct.pack("<HHIQIIQ", VERSION_MAJOR, VERSION_MINOR, HEADER_BYTES, len(buf), 0,
                                 len(sections), HEADER_BYTES) + b"\0" * 24
    assert len(header) == HEADER_BYTES
    buf[:HEADER_BYTES] = header
    crc = crc32c(bytes(buf))
    buf[24:28] = struct.pack("<I", crc)
    tmp = path + ".partial"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(buf)
    os.replace(tmp, path)
    return len(buf)


def reseal(buf):
    """Rewrites the checksum of a file patched on purpose (tests)."""
    buf = bytearray(buf)
    buf[24:28] = b"\0\0\0\0"
    buf[24:28] = struct.pack("<I", crc32c(bytes(buf)))
    return bytes(buf)


# ---- quantisation helpers shared by the bake -------------------------------------------------


def quantize(values, lo, hi):
    """float [..., C] with per-channel lo/hi [C] -> uint8 (round to nearest)."""
    scale = np.where(hi > lo, hi - lo, 1.0)
    q = np.round((values - lo) / scale * 255.0)
    return np.clip(q, 0, 255).astype(np.uint8)


def pack_layers(channels, H, W):
    """[H*W, 4L] per-texel channels -> [L, H, W, 4] layers (channel q -> layer q//4, rgba q%4)."""
    C = channels.shape[1]
    assert C % 4 == 0
    return np.ascontiguousarray(channels.reshape(H, W, C // 4, 4).transpose(2, 0, 1, 3))
