"""Reader/validator of `.fvlf` light-field assets and a pure-NumPy reference renderer.

    asset = read_asset(path)               # raises AssetError naming what is wrong
    rgb = render_view(asset, c2w, H, W, focal)   # [H, W, 3] float32 in [0, 1]

The renderer is the file format's shading rule, nothing else (docs/lightfield-asset.md):
z-buffer rasterisation at pixel centres (same camera convention as datasets.pixel_rays), the
perspective-correct barycentrics of the nearest triangle, world point x and atlas (s, t) from
them, d = normalize(x - eye), nearest texel lookups in the atlas and the octahedral direction
map, dequantisation lo + (hi - lo) * byte / 255, colour = sigmoid(bias + sum_j f_{c,j} beta_j).
Pixels no triangle covers get the asset's background colour.

    python3 render_asset.py ASSET                     # validate and print a summary
"""
import struct
import sys
import zlib

import numpy as np

from export_asset import (BLOB_RECORD, DIR_OCTAHEDRAL, FORMAT_RGBA8, HEADER_BYTES, MAGIC, MAX_SIDE,
                          SEC_ATLAS, SEC_DIRMAP, SEC_MESH, SEC_METADATA, SECTION_NAMES, VERSION_MAJOR,
                          crc32c, oct_texel, unsub_filter)


class AssetError(ValueError):
    pass


class _Cursor:
    def __init__(self, buf, start, end, where):
        self.buf, self.pos, self.end, self.where = buf, start, end, where

    def take(self, n, what):
        if n < 0 or self.pos + n > self.end:
            raise AssetError("%s: %s at 0x%x needs %d bytes, %d left" % (self.where, what, self.pos, n,
                                                                        self.end - self.pos))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]

    def f32(self, n, what):
        a = np.frombuffer(self.take(4 * n, what), dtype="<f4").astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise AssetError("%s: %s is not finite" % (self.where, what))
        return a

    def string(self, what):
        n = self.u32(what + " length")
        try:
            return bytes(self.take(n, what)).decode("utf-8")
        except UnicodeDecodeError:
            raise AssetError("%s: %s is not UTF-8" % (self.where, what))


def _blobs(cur, count, sec_start, sec_end, expected, where, textures=None):
    """Reads `count` blob records and decodes each blob to exactly expected[i] bytes."""
    recs = []
    for i in range(count):
        off, stored, decoded, enc, filt = struct.unpack("<QQQBB6x", cur.take(BLOB_RECORD, "blob record %d" % i))
        recs.append((off, stored, decoded, enc, filt))
    out = []
    prev_end = cur.pos
    for i, (off, stored, decoded, enc, filt) in enumerate(recs):
        w = "%s blob %d" % (where, i)
        if off % 64:
            raise AssetError("%s: offset 0x%x is not 64-byte aligned" % (w, off))
        if off < prev_end or off + stored > sec_end:
            raise AssetError("%s: bytes 0x%x+%d overlap the directory/previous blob or leave the section" % (w, off, stored))
        if any(cur.buf[prev_end:off]):
            raise AssetError("%s: non-zero padding before 0x%x" % (w, off))
        prev_end = off + stored
        if decoded != expected[i]:
            raise AssetError("%s: decoded size %d, expected %d" % (w, decoded, expected[i]))
        if enc not in (0, 1) or filt not in (0, 1):
            raise AssetError("%s: unknown encoding %d / filter %d" % (w, enc, filt))
        if filt == 1 and textures is None:
            raise AssetError("%s: the sub filter is only allowed on texture layers" % w)
        data = cur.buf[off:off + stored]
        if enc == 0:
            if stored != decoded:
                raise AssetError("%s: raw blob stored %d != decoded %d" % (w, stored, decoded))
            raw = bytes(data)
        else:
            d = zlib.decompressobj()
            try:
                raw = d.decompress(bytes(data), decoded + 1)
            except zlib.error as e:
                raise AssetError("%s: zlib: %s" % (w, e))
            if len(raw) != decoded or not d.eof or d.unconsumed_tail or d.unused_data:
                raise AssetError("%s: zlib stream does not inflate to exactly %d bytes" % (w, decoded))
        if filt == 1:
            H, W = textures
            raw = unsub_filter(raw, H, W).tobytes()
        out.append(raw)
    if prev_end != sec_end:
        raise AssetError("%s: section ends at 0x%x but its last blob at 0x%x" % (where, sec_end, prev_end))
    return out


def read_asset(path_or_bytes):
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        buf, name = memoryview(bytes(path_or_bytes)), "<bytes>"
    else:
        with open(path_or_bytes, "rb") as f:
            buf, name = memoryview(f.read()), path_or_bytes
    n = len(buf)
    if bytes(buf[:min(8, n)]) != MAGIC[:min(8, n)] or n < 8:
        raise AssetError("%s: not a fovea light-field asset (bad magic)" % name)
    if n < HEADER_BYTES:
        raise AssetError("%s: truncated: %d bytes, the header alone is 64" % (name, n))
    major, minor, hbytes, fbytes, crc, nsec, table = struct.unpack("<HHIQIIQ", buf[8:40])
    if major != VERSION_MAJOR:
        raise AssetError("%s: version %d.%d; this reader reads %d.x: update fovea" % (name, major, minor, VERSION_MAJOR))
    if not HEADER_BYTES <= hbytes <= n:
        raise AssetError("%s: header bytes %d out of range" % (name, hbytes))
    if fbytes != n:
        raise AssetError("%s: file is %d bytes but its header says %d (truncated or extended)" % (name, n, fbytes))
    tmp = bytearray(buf)
    tmp[24:28] = b"\0\0\0\0"
    actual = crc32c(bytes(tmp))
    if actual != crc:
        raise AssetError("%s: checksum 0x%08x, computed 0x%08x: the file is damaged" % (name, crc, actual))
    if nsec > 64 or table < hbytes or table + 24 * nsec > n:
        raise AssetError("%s: section table (%d entries at 0x%x) does not fit" % (name, nsec, table))
    secs = {}
    spans = [(0, table + 24 * nsec)]
    for i in range(nsec):
        kind, _flags, off, size = struct.unpack("<IIQQ", buf[table + 24 * i:table + 24 * i + 24])
        if off % 64 or off + size > n:
            raise AssetError("%s: section %d (kind %d) at 0x%x+%d is unaligned or outside the file" % (name, i, kind, off, size))
        for a, b in spans:
            if off < b and a < off + size:
                raise AssetError("%s: section %d (kind %d) overlaps another" % (name, i, kind))
        spans.append((off, off + size))
        if kind in SECTION_NAMES:
            if kind in secs:
                raise AssetError("%s: section kind %d appears twice" % (name, kind))
            secs[kind] = (off, off + size)
    for kind in SECTION_NAMES:
        if kind not in secs:
            raise AssetError("%s: no %s section" % (name, SECTION_NAMES[kind]))

    a = {}
    s, e = secs[SEC_METADATA]
    c = _Cursor(buf, s, e, name + ": metadata")
    a["name"], a["description"], a["provenance"] = c.string("name"), c.string("description"), c.string("provenance")
    k = c.u32("k")
    if k % 4 or not 4 <= k <= 64:
        raise AssetError("%s: k = %d is not a multiple of 4 in [4, 64]" % (c.where, k))
    a["k"] = k
    c.u32("flags")
    a["bias"] = c.f32(3, "bias")
    a["background"] = c.f32(4, "background")
    a["bounds_min"], a["bounds_max"] = c.f32(3, "bounds_min"), c.f32(3, "bounds_max")
    if np.any(a["bounds_min"] > a["bounds_max"]):
        raise AssetError("%s: bounds_min > bounds_max" % c.where)
    R = c.f32(9, "dir_frame").reshape(3, 3)
    if np.abs(R @ R.T - np.eye(3)).max() > 1e-3:
        raise AssetError("%s: dir_frame is not a rotation" % c.where)
    a["dir_frame"] = R
    if c.u32("dir_param") != DIR_OCTAHEDRAL:
        raise AssetError("%s: unknown direction parametrisation" % c.where)
    cam = dict(eye=c.f32(3, "eye"), target=c.f32(3, "target"), up=c.f32(3, "up"))
    cam["fovy"], cam["near"], cam["far"] = [float(x) for x in c.f32(3, "fovy/near/far")]
    if not (cam["near"] > 0 and cam["far"] > cam["near"]):
        raise AssetError("%s: near/far must satisfy 0 < near < far" % c.where)
    a["camera"] = cam
    a["patch"] = c.u32("patch")
    c.u32("reserved")
    if c.pos != e:
        raise AssetError("%s: %d bytes left over" % (c.where, e - c.pos))

    s, e = secs[SEC_MESH]
    c = _Cursor(buf, s, e, name + ": mesh")
    V, T, mflags, one_sided = (c.u32("vertex count"), c.u32("triangle count"), c.u32("flags"),
                               c.u32("one-sided triangles"))  # 1.0 files hold 0 here
    if not (1 <= V <= 1 << 26 and 1 <= T <= 1 << 26):
        raise AssetError("%s: %d vertices / %d triangles out of range" % (c.where, V, T))
    pos, uv, tri = _blobs(c, 3, s, e, [12 * V, 8 * V, 12 * T], c.where)
    a["positions"] = np.frombuffer(pos, dtype="<f4").reshape(V, 3).astype(np.float32)
    a["uvs"] = np.frombuffer(uv, dtype="<f4").reshape(V, 2).astype(np.float32)
    a["triangles"] = np.frombuffer(tri, dtype="<u4").reshape(T, 3).astype(np.int64)
    a["unshared"] = bool(mflags & 1)
    if one_sided > T:
        raise AssetError("%s: %d one-sided triangles of %d" % (c.where, one_sided, T))
    a["one_sided"] = one_sided
    if a["triangles"].max() >= V:
        raise AssetError("%s: a triangle index is >= the vertex count %d" % (c.where, V))
    if not (np.all(np.isfinite(a["positions"])) and np.all(np.isfinite(a["uvs"]))):
        raise AssetError("%s: non-finite position or uv" % c.where)
    tol = 1e-4 * max(1.0, float(np.abs(np.concatenate([a["bounds_min"], a["bounds_max"]])).max()))
    if np.any(a["positions"] < a["bounds_min"] - tol) or np.any(a["positions"] > a["bounds_max"] + tol):
        raise AssetError("%s: positions outside the metadata bounds" % c.where)
    if a["unshared"] and not (V == 3 * T and np.array_equal(a["triangles"].reshape(-1), np.arange(3 * T))):
        raise AssetError("%s: flagged unshared but the triangles are not 0, 1, 2, ..." % c.where)

    for kind, key, layers in ((SEC_ATLAS, "atlas", 3 * k // 4), (SEC_DIRMAP, "dirmap", k // 4)):
        s, e = secs[kind]
        c = _Cursor(buf, s, e, "%s: %s" % (name, SECTION_NAMES[kind]))
        W, H, L, fmt = c.u32("width"), c.u32("height"), c.u32("layers"), c.u32("format")
        if not (1 <= W <= MAX_SIDE and 1 <= H <= MAX_SIDE):
            raise AssetError("%s: size %dx%d outside [1, %d]" % (c.where, W, H, MAX_SIDE))
        if fmt != FORMAT_RGBA8:
            raise AssetError("%s: unknown texel format %d" % (c.where, fmt))
        if L != layers:
            raise AssetError("%s: %d layers, k = %d needs %d" % (c.where, L, k, layers))
        if kind == SEC_DIRMAP and W != H:
            raise AssetError("%s: the direction map must be square, got %dx%d" % (c.where, W, H))
        lo, hi = c.f32(4 * L, "lo"), c.f32(4 * L, "hi")
        if np.any(hi < lo):
            raise AssetError("%s: a range has hi < lo" % c.where)
        raws = _blobs(c, L, s, e, [4 * W * H] * L, c.where, textures=(H, W))
        a[key] = np.stack([np.frombuffer(r, dtype=np.uint8).reshape(H, W, 4) for r in raws])
        a[key + "_lo"], a[key + "_hi"] = lo, hi
    a["file_bytes"] = n
    return a


def gpu_bytes(a):
    """Textures + vertex buffer (positions + uvs) + index buffer (none when unshared)."""
    tex = a["atlas"].nbytes + a["dirmap"].nbytes
    vb = a["positions"].shape[0] * 20
    ib = 0 if a["unshared"] else a["triangles"].shape[0] * 12
    return dict(textures=tex, vertex_buffer=vb, index_buffer=ib, total=tex + vb + ib,
                total_with_index_buffer=tex + vb + a["triangles"].shape[0] * 12)


# ---- reference renderer ---------------------------------------------------------------------


def rasterize_np(verts, faces, c2w, H, W, focal, near=1e-4, max_candidates=1 << 22, one_sided=0):
    """NumPy z-buffer at pixel centres. Returns (face id [H*W] (-1 none), screen barycentrics [H*W,3]).
    Faces below `one_sided` are skipped where their clockwise side faces the camera (GL back-face
    culling with counter-clockwise front faces)."""
    R, t = c2w[:3, :3].astype(np.float64), c2w[:3, 3].astype(np.float64)
    pc = (verts.astype(np.float64) - t) @ R
    z = -pc[:, 2]
    zs = np.where(np.abs(z) < 1e-12, 1e-12, z)
    sx = focal * pc[:, 0] / zs + 0.5 * W
    sy = -focal * pc[:, 1] / zs + 0.5 * H
    fz, fx, fy = z[faces], sx[faces], sy[faces]
    front = (fz > near).all(-1)
    if one_sided:
        v = verts.astype(np.float64)[faces[:one_sided]]
        n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        front[:one_sided] &= np.einsum("ij,ij->i", n, t - v[:, 0]) > 0
    x0 = np.clip(np.ceil(fx.min(-1) - 0.5), 0, W).astype(np.int64)
    x1 = np.clip(np.floor(fx.max(-1) - 0.5), -1, W - 1).astype(np.int64)
    y0 = np.clip(np.ceil(fy.min(-1) - 0.5), 0, H).astype(np.int64)
    y1 = np.clip(np.floor(fy.max(-1) - 0.5), -1, H - 1).astype(np.int64)
    nx, ny = np.maximum(x1 - x0 + 1, 0), np.maximum(y1 - y0 + 1, 0)
    cnt = np.where(front, nx * ny, 0)
    fids = np.nonzero(cnt)[0]
    cnt = cnt[fids]
    best_d = np.full(H * W, np.inf)
    best_f = np.full(H * W, -1, dtype=np.int64)
    best_b = np.zeros((H * W, 3))
    csum = np.cumsum(cnt)
    start = 0
    while start < fids.size:
        base = csum[start - 1] if start > 0 else 0
        end = max(int(np.searchsorted(csum, base + max_candidates, side="right")), start + 1)
        f, c = fids[start:end], cnt[start:end]
        fi = np.repeat(np.arange(f.size), c)
        off = np.arange(fi.size) - (np.cumsum(c) - c)[fi]
        fg = f[fi]
        px = x0[fg] + off % nx[fg]
        py = y0[fg] + off // nx[fg]
        cx, cy = px + 0.5, py + 0.5
        ax, bx, qx = fx[fg, 0], fx[fg, 1], fx[fg, 2]
        ay, by, qy = fy[fg, 0], fy[fg, 1], fy[fg, 2]
        w0 = (bx - cx) * (qy - cy) - (by - cy) * (qx - cx)
        w1 = (qx - cx) * (ay - cy) - (qy - cy) * (ax - cx)
        w2 = (ax - cx) * (by - cy) - (ay - cy) * (bx - cx)
        area = w0 + w1 + w2
        inside = (((w0 >= 0) & (w1 >= 0) & (w2 >= 0)) | ((w0 <= 0) & (w1 <= 0) & (w2 <= 0))) & (np.abs(area) > 1e-12)
        pix, fg = (py * W + px)[inside], fg[inside]
        b = np.stack([w0[inside], w1[inside], w2[inside]], -1) / area[inside, None]
        zz = fz[fg]
        depth = 1.0 / (b / zz).sum(-1)
        # nearest candidate per pixel in this chunk, then merge with what we have
        order = np.lexsort((depth, pix))
        pix, depth, fg, b = pix[order], depth[order], fg[order], b[order]
        first = np.ones(pix.size, dtype=bool)
        first[1:] = pix[1:] != pix[:-1]
        pix, depth, fg, b = pix[first], depth[first], fg[first], b[first]
        win = depth < best_d[pix]
        pix = pix[win]
        best_d[pix], best_f[pix], best_b[pix] = depth[win], fg[win], b[win]
        start = end
    # perspective-correct barycentrics (what GL's smooth varyings interpolate with)
    hit = best_f >= 0
    pb = np.zeros_like(best_b)
    zz = fz[best_f[hit]]
    w = best_b[hit] / zz
    pb[hit] = w / w.sum(-1, keepdims=True)
    return best_f, pb


def shade(asset, x, st, eye):
    """The format's shading rule at world points x [n,3] with atlas coords st [n,2] from eye [3]."""
    k = asset["k"]
    H, W = asset["atlas"].shape[1:3]
    s = st.astype(np.float32)
    i = np.clip(np.floor(s[:, 0] * np.float32(W)), 0, W - 1).astype(np.int64)
    j = np.clip(np.floor(s[:, 1] * np.float32(H)), 0, H - 1).astype(np.int64)
    d = (x - eye).astype(np.float32)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    N = asset["dirmap"].shape[1]
    di, dj = oct_texel(d, asset["dir_frame"], N)
    # [n, L, 4] bytes -> [n, 4L] channels
    fb = asset["atlas"][:, j, i, :].transpose(1, 0, 2).reshape(len(i), -1).astype(np.float32)
    bb = asset["dirmap"][:, dj, di, :].transpose(1, 0, 2).reshape(len(i), -1).astype(np.float32)
    f = asset["atlas_lo"] + (asset["atlas_hi"] - asset["atlas_lo"]) * (fb / np.float32(255.0))
    beta = asset["dirmap_lo"] + (asset["dirmap_hi"] - asset["dirmap_lo"]) * (bb / np.float32(255.0))
    z = asset["bias"][None] + np.einsum("nck,nk->nc", f.reshape(-1, 3, k), beta)
    return 1.0 / (1.0 + np.exp(-z))


def render_view(asset, c2w, H, W, focal, return_hit=False):
    c2w = np.asarray(c2w, dtype=np.float64)
    tris = asset["triangles"]
    fid, pb = rasterize_np(asset["positions"], tris, c2w, H, W, focal, one_sided=asset.get("one_sided", 0))
    img = np.tile(asset["background"][:3].astype(np.float32), (H * W, 1))
    hit = fid >= 0
    if hit.any():
        corners = tris[fid[hit]]
        b = pb[hit]
        P = asset["positions"].astype(np.float64)[corners]          # [n, 3, 3]
        U = asset["uvs"].astype(np.float64)[corners]                # [n, 3, 2]
        x = (b[..., None] * P).sum(1)
        st = (b[..., None] * U).sum(1)
        img[hit] = shade(asset, x, st, c2w[:3, 3])
    img = img.reshape(H, W, 3)
    return (img, hit.reshape(H, W)) if return_hit else img


def summary(a):
    g = gpu_bytes(a)
    return ("%s: k=%d, %d vertices, %d triangles, atlas %dx%d x %d layers, direction map %dx%d x %d layers, "
            "file %.2f MB, GPU %.2f MB (textures %.2f, vertex buffer %.2f, index buffer %.2f)" % (
                a["name"], a["k"], a["positions"].shape[0], a["triangles"].shape[0], a["atlas"].shape[2],
                a["atlas"].shape[1], a["atlas"].shape[0], a["dirmap"].shape[2], a["dirmap"].shape[1],
                a["dirmap"].shape[0], a["file_bytes"] / 1e6, g["total"] / 1e6, g["textures"] / 1e6,
                g["vertex_buffer"] / 1e6, g["index_buffer"] / 1e6))


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(summary(read_asset(p)))
