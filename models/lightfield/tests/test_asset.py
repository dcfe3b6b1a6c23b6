"""CPU tests of the light-field asset format (docs/lightfield-asset.md): writer, reader/validator,
octahedral map, atlas layout, reference renderer.

Run: python3 models/lightfield/tests/test_asset.py   (or pytest on that file)
"""
import os
import struct
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from atlas import build_layout, choose_patch_sizes  # noqa: E402
from export_asset import (_crc_raw_scalar, crc32c, oct_texel, oct_texel_dirs, reseal, sub_filter,  # noqa: E402
                          unsub_filter, write_asset)
from make_test_asset import build  # noqa: E402
from render_asset import AssetError, read_asset, render_view, shade  # noqa: E402


def _write(a, **kw):
    fd, path = tempfile.mkstemp(suffix=".fvlf")
    os.close(fd)
    write_asset(path, **dict(a, **kw))
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def test_crc32c():
    assert crc32c(b"123456789") == 0xE3069283
    data = np.random.default_rng(1).integers(0, 256, 200_003, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc_raw_scalar(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    assert crc32c(data, lanes=7) == crc32c(data, lanes=4096)


def test_sub_filter_roundtrip():
    layer = np.random.default_rng(2).integers(0, 256, (7, 13, 4), dtype=np.uint8)
    assert np.array_equal(unsub_filter(sub_filter(layer).tobytes(), 7, 13), layer)


def test_roundtrip_raw_and_zlib():
    a = build()
    for compress in (False, True):
        r = read_asset(_write(a, compress=compress))
        assert r["k"] == 8 and r["name"] == "test_cube"
        assert np.array_equal(r["atlas"], a["atlas"]) and np.array_equal(r["dirmap"], a["dirmap"])
        assert np.array_equal(r["positions"], np.asarray(a["positions"], np.float32))
        assert r["unshared"]
        assert np.allclose(r["atlas_lo"], a["atlas_lo"]) and np.allclose(r["dirmap_hi"], a["dir_hi"])


def test_layout_of_header_and_alignment():
    data = _write(build())
    assert data[:8] == b"\x89FVL\r\n\x1a\n"
    major, minor, hbytes, fbytes, crc, nsec, table = struct.unpack("<HHIQIIQ", data[8:40])
    assert (major, minor, hbytes, fbytes, nsec, table) == (1, 1, 64, len(data), 4, 64)
    for i in range(nsec):
        kind, _, off, size = struct.unpack("<IIQQ", data[64 + 24 * i:88 + 24 * i])
        assert kind == i + 1 and off % 64 == 0


def test_bad_files_are_errors():
    good = _write(build())
    cases = {
        "empty": b"",
        "magic": b"\x89FVX" + good[4:],
        "truncated": good[:-1],
        "truncated header": good[:40],
        "extended": good + b"\0",
        "checksum": good[:100] + bytes([good[100] ^ 1]) + good[101:],
        "version": reseal(good[:8] + struct.pack("<H", 2) + good[10:]),
        "section count": reseal(good[:28] + struct.pack("<I", 65) + good[32:]),
    }
    # k = 6 (not a multiple of 4): patch the metadata's k field
    meta_off = struct.unpack("<Q", good[64 + 8:64 + 16])[0]
    p = meta_off
    for _ in range(3):
        p += 4 + struct.unpack("<I", good[p:p + 4])[0]
    cases["k"] = reseal(good[:p] + struct.pack("<I", 6) + good[p + 4:])
    # a triangle index out of range (patched into an uncompressed file)
    raw = _write(build(), compress=False)
    mesh_off = struct.unpack("<Q", raw[64 + 24 + 8:64 + 24 + 16])[0]
    tri_blob = struct.unpack("<Q", raw[mesh_off + 16 + 64:mesh_off + 16 + 72])[0]
    cases["index"] = reseal(raw[:tri_blob] + struct.pack("<I", 10 ** 6) + raw[tri_blob + 4:])
    for name, data in cases.items():
        try:
            read_asset(data)
        except AssetError:
            continue
        raise AssertionError("bad file accepted: %s" % name)


def test_every_flipped_byte_is_caught():
    good = _write(build())
    rng = np.random.default_rng(3)
    for pos in rng.choice(len(good), 200, replace=False):
        bad = bytearray(good)
        bad[pos] ^= 0xFF
        try:
            read_asset(bytes(bad))
        except AssetError:
            continue
        raise AssertionError("flip at %d accepted" % pos)


def test_octahedral_texel_centres_map_to_themselves():
    R = np.diag([1.0, -1.0, -1.0])
    for N in (8, 33, 256):
        d = oct_texel_dirs(R, N)
        i, j = oct_texel(d.reshape(-1, 3), R, N)
        jj, ii = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
        assert np.array_equal(i, ii.reshape(-1)) and np.array_equal(j, jj.reshape(-1)), N
        assert np.allclose(np.linalg.norm(d, axis=-1), 1.0, atol=1e-5)
    # local +z (world -z here) is the centre of the map
    i, j = oct_texel(np.array([[0.0, 0.0, -1.0]]), R, 16)
    assert (i[0], j[0]) == (8, 8)


def test_atlas_texels_belong_to_one_triangle():
    rng = np.random.default_rng(4)
    T = 501
    v, f = rng.normal(size=(300, 3)), rng.integers(0, 300, (T, 3))
    P, _, used = choose_patch_sizes(rng.exponential(6, T) * (rng.random(T) > 0.2), 5000, 8)
    lay = build_layout(v, f, P)
    uv, W, H = lay["uv"], lay["W"], lay["H"]
    owner = {}
    for t in range(T):
        b = np.concatenate([rng.dirichlet([1, 1, 1], 300), np.eye(3)]).astype(np.float32)
        st = (b[:, :, None] * uv[t][None]).sum(1)
        i = np.clip(np.floor(st[:, 0] * np.float32(W)), 0, W - 1).astype(int)
        j = np.clip(np.floor(st[:, 1] * np.float32(H)), 0, H - 1).astype(int)
        cells = set(zip(i.tolist(), j.tolist()))
        p = lay["P"][t]
        assert len(cells) <= p * (p + 1) // 2
        for c in cells:
            assert owner.setdefault(c, t) == t
    assert W * H >= used


def test_render_matches_formula():
    a = read_asset(_write(build()))
    c2w = np.eye(4)
    c2w[:3, 3] = [0.2, 0.3, 4.0]  # looking down -z at the cube's +z face
    img, hit = render_view(a, c2w, 32, 32, 40.0, return_hit=True)
    assert hit[16, 16] and not hit[0, 0]
    assert np.allclose(img[0, 0], a["background"][:3])
    # the centre pixel by hand: ray through the pixel centre hits z = 1
    d = np.array([(16.5 - 16) / 40.0, -(16.5 - 16) / 40.0, -1.0])
    x = c2w[:3, 3] + d * (3.0 / 1.0)
    tri = None
    for t, (p0, p1, p2) in enumerate(a["positions"].reshape(-1, 3, 3)):
        if np.allclose([p0[2], p1[2], p2[2]], 1.0):
            m = np.array([p1 - p0, p2 - p0]).T[:2]
            bb = np.linalg.solve(m, (x - p0)[:2])
            if bb.min() >= 0 and bb.sum() <= 1:
                tri = t
                b = np.array([1 - bb.sum(), bb[0], bb[1]])
                break
    assert tri is not None
    st = (b[:, None] * a["uvs"][3 * tri:3 * tri + 3]).sum(0)
    want = shade(a, x[None], st[None], c2w[:3, 3])[0]
    k = a["k"]
    H, W = a["atlas"].shape[1:3]
    i, j = int(st[0] * W), int(st[1] * H)
    f = a["atlas_lo"] + (a["atlas_hi"] - a["atlas_lo"]) * a["atlas"][:, j, i, :].reshape(-1) / 255.0
    dd = (x - c2w[:3, 3]) / np.linalg.norm(x - c2w[:3, 3])
    di, dj = oct_texel(dd[None], a["dir_frame"], a["dirmap"].shape[1])
    beta = a["dirmap_lo"] + (a["dirmap_hi"] - a["dirmap_lo"]) * a["dirmap"][:, dj[0], di[0], :].reshape(-1) / 255.0
    z = a["bias"] + f.reshape(3, k) @ beta
    assert np.allclose(want, 1 / (1 + np.exp(-z)), atol=1e-5)
    assert np.allclose(img[16, 16], want, atol=1e-5)


def test_zlib_is_plain_rfc1950():
    a = build()
    data = _write(a)
    atlas_off = struct.unpack("<Q", data[64 + 48 + 8:64 + 48 + 16])[0]
    L = struct.unpack("<I", data[atlas_off + 8:atlas_off + 12])[0]
    rec = atlas_off + 16 + 32 * L
    off, stored, decoded, enc, filt = struct.unpack("<QQQBB6x", data[rec:rec + 32])
    if enc == 1:
        raw = zlib.decompress(data[off:off + stored])
        assert len(raw) == decoded


if __name__ == "__main__":
    n = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            n += 1
            print("ok", name)
    print("%d tests passed" % n)
