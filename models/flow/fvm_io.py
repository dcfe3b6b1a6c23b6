#!/usr/bin/python3
"""A plain-Python writer and reader of fovea's `.fvm` model files (docs/fvm.md, version 1.0), and
a PyTorch interpreter of the graph ops the flow network uses, to check an export before C++
loads it. Float models only (no quantization records are written; fovea-quantize makes INT8).

    g = Graph()
    x = g.input("pair", [1, 448, 1024, 3])
    y = g.conv("c0", x, weight_ohwi, bias, stride=2, pad=1, relu=True)
    g.output(y)
    write_fvm(path, g, name=..., description=..., provenance=...)
    graph = read_fvm(path)            # dict: tensors, nodes, inputs, outputs, constants
    outs = run_fvm(graph, {"pair": nhwc_numpy})
"""
import struct

import numpy as np
import torch
import torch.nn.functional as F

MAGIC = b"\x89FVM\r\n\x1a\n"
OPS = dict(Conv2d=1, FullyConnected=2, Add=3, Multiply=4, Concat=5, ResizeBilinear=10, Clamp=13,
           Correlation=19, Warp=20, LeakyRelu=22)  # core/include/fovea/core/model_graph.h
OP_NAMES = {v: k for k, v in OPS.items()}
INF = float("inf")


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _CRC
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def default_attrs():
    return dict(kernel_h=1, kernel_w=1, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
                pad_top=0, pad_left=0, pad_bottom=0, pad_right=0, groups=1, clamp_min=-INF,
                clamp_max=INF, axis=-1, output_h=0, output_w=0, max_displacement=0,
                align_corners=False, new_shape=[], alpha=0.01)


class Graph:
    def __init__(self):
        self.tensors, self.nodes, self.inputs, self.outputs, self.constants = [], [], [], [], []

    def _tensor(self, name, shape, constant=-1):
        self.tensors.append(dict(name=name, dtype=1, shape=[int(s) for s in shape], constant=constant))
        return len(self.tensors) - 1

    def shape(self, t):
        return self.tensors[t]["shape"]

    def input(self, name, shape):
        t = self._tensor(name, shape)
        self.inputs.append(t)
        return t

    def const(self, name, array):
        a = np.ascontiguousarray(array, dtype=np.float32)
        self.constants.append(a)
        return self._tensor(name, a.shape, len(self.constants) - 1)

    def output(self, t):
        self.outputs.append(t)

    def node(self, op, name, inputs, out_shape, **attrs):
        a = default_attrs()
        for k, v in attrs.items():
            assert k in a, k
            a[k] = v
        out = self._tensor(name + ":0", out_shape)
        self.nodes.append(dict(name=name, op=OPS[op], attrs=a, inputs=list(inputs), outputs=[out]))
        return out

    # Convenience builders (NHWC shapes).
    def conv(self, name, x, w_ohwi, bias, stride=1, pad=0, relu=False):
        n, h, wd, c = self.shape(x)
        o, kh, kw, ci = w_ohwi.shape
        assert ci == c, (name, ci, c)
        oh = (h + 2 * pad - kh) // stride + 1
        ow = (wd + 2 * pad - kw) // stride + 1
        wt = self.const(name + ".weight", w_ohwi)
        bt = self.const(name + ".bias", bias) if bias is not None else -1
        return self.node("Conv2d", name, [x, wt, bt], [n, oh, ow, o], kernel_h=kh, kernel_w=kw,
                         stride_h=stride, stride_w=stride, pad_top=pad, pad_left=pad,
                         pad_bottom=pad, pad_right=pad, clamp_min=0.0 if relu else -INF)

    def add(self, name, a, b, relu=False):
        return self.node("Add", name, [a, b], self.shape(a), clamp_min=0.0 if relu else -INF)

    def scale(self, name, x, s):
        c = self.const(name + ".factor", np.full([1, 1, 1, 1], s, np.float32))
        return self.node("Multiply", name, [x, c], self.shape(x))

    def resize(self, name, x, h, w):
        n, _, _, c = self.shape(x)
        return self.node("ResizeBilinear", name, [x], [n, h, w, c], output_h=h, output_w=w)

    def correlation(self, name, a, b, r):
        n, h, w, _ = self.shape(a)
        return self.node("Correlation", name, [a, b], [n, h, w, (2 * r + 1) ** 2], max_displacement=r)

    def warp(self, name, x, flow):
        return self.node("Warp", name, [x, flow], self.shape(x))

    def leaky_relu(self, name, x, alpha=0.01):
        return self.node("LeakyRelu", name, [x], self.shape(x), alpha=alpha)

    def concat(self, name, xs):
        s = list(self.shape(xs[0]))
        s[3] = sum(self.shape(x)[3] for x in xs)
        return self.node("Concat", name, xs, s, axis=3)


class _W:
    def __init__(self):
        self.b = bytearray()

    def u8(self, v): self.b += struct.pack("<B", v)
    def u16(self, v): self.b += struct.pack("<H", v)
    def u32(self, v): self.b += struct.pack("<I", v)
    def i32(self, v): self.b += struct.pack("<i", v)
    def u64(self, v): self.b += struct.pack("<Q", v)
    def i64(self, v): self.b += struct.pack("<q", v)
    def f32(self, v): self.b += struct.pack("<f", v)

    def string(self, s):
        e = s.encode("utf-8")
        self.u32(len(e))
        self.b += e

    def pad_to(self, n):
        self.b += bytes((-len(self.b)) % n)


def serialize(g, name, description="", provenance=""):
    w = _W()
    w.b += bytes(64 + 4 * 24)
    sections = []
    start = len(w.b)
    w.string(name), w.string(description), w.string(provenance)
    sections.append((1, start, len(w.b) - start))
    start = len(w.b)
    w.u32(len(g.tensors)), w.u32(len(g.nodes)), w.u32(len(g.inputs)), w.u32(len(g.outputs))
    for t in g.tensors:
        w.string(t["name"]), w.u8(t["dtype"]), w.u8(len(t["shape"])), w.u16(0), w.i32(t["constant"])
        for d in t["shape"]:
            w.i64(d)
        w.i32(0), w.i32(-1), w.u32(0)  # zero point, channel axis, no scales
    for n in g.nodes:
        a = n["attrs"]
        w.string(n["name"]), w.u16(n["op"]), w.u16(0), w.u32(len(n["inputs"])), w.u32(len(n["outputs"]))
        s0 = len(w.b)
        for k in ("kernel_h", "kernel_w", "stride_h", "stride_w", "dilation_h", "dilation_w",
                  "pad_top", "pad_left", "pad_bottom", "pad_right", "groups"):
            w.i32(a[k])
        # LeakyRelu takes no clamp: its alpha rides in the clamp-min slot (docs/fvm.md).
        w.f32(a["alpha"] if n["op"] == OPS["LeakyRelu"] else a["clamp_min"]), w.f32(a["clamp_max"])
        for k in ("axis", "output_h", "output_w", "max_displacement"):
            w.i32(a[k])
        w.u8(1 if a["align_corners"] else 0), w.u8(len(a["new_shape"])), w.u16(0)
        for i in range(6):
            w.i64(a["new_shape"][i] if i < len(a["new_shape"]) else 0)
        assert len(w.b) - s0 == 120
        for t in n["inputs"]:
            w.i32(t)
        for t in n["outputs"]:
            w.i32(t)
    for t in g.inputs:
        w.i32(t)
    for t in g.outputs:
        w.i32(t)
    sections.append((2, start, len(w.b) - start))
    start = len(w.b)
    w.u32(len(g.constants)), w.u32(0)
    table = len(w.b)
    w.b += bytes(32 * len(g.constants))
    sections.append((3, start, len(w.b) - start))
    w.pad_to(64)
    start = len(w.b)
    for i, c in enumerate(g.constants):
        w.pad_to(64)
        raw = c.astype("<f4").tobytes()
        struct.pack_into("<QQQB", w.b, table + 32 * i, len(w.b), len(raw), len(raw), 0)
        w.b += raw
    sections.append((4, start, len(w.b) - start))
    b = w.b
    b[0:8] = MAGIC
    struct.pack_into("<HHIQIIQ", b, 8, 1, 0, 64, len(b), 0, len(sections), 64)
    for i, (kind, off, size) in enumerate(sections):
        struct.pack_into("<IIQQ", b, 64 + 24 * i, kind, 0, off, size)
    struct.pack_into("<I", b, 24, crc32c(bytes(b)))  # checksum field is zero while computing
    return bytes(b)


def write_fvm(path, g, name, description="", provenance=""):
    data = serialize(g, name, description, provenance)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


class _R:
    def __init__(self, b, pos):
        self.b, self.p = b, pos

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.b, self.p)
        self.p += struct.calcsize("<" + fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take("I")
        s = self.b[self.p:self.p + n].decode("utf-8")
        self.p += n
        return s


def read_fvm(path):
    """Float .fvm -> dict(name, tensors, nodes, inputs, outputs, constants). Checks magic, size, CRC."""
    b = open(path, "rb").read()
    assert b[:8] == MAGIC, "not an .fvm"
    major, minor, hdr, size, crc, nsec, table = struct.unpack_from("<HHIQIIQ", b, 8)
    assert major == 1 and size == len(b)
    assert crc32c(b[:24] + bytes(4) + b[28:]) == crc, "checksum"
    secs = {}
    for i in range(nsec):
        kind, _, off, sz = struct.unpack_from("<IIQQ", b, table + 24 * i)
        secs[kind] = (off, sz)
    r = _R(b, secs[1][0])
    out = dict(name=r.string(), description=r.string(), provenance=r.string())
    r = _R(b, secs[2][0])
    nt, nn_, ni, no = r.take("IIII")
    tensors, nodes = [], []
    for _ in range(nt):
        name = r.string()
        dtype, rank, _, const = r.take("BBHi")
        shape = [r.take("q") for _ in range(rank)]
        zp, axis, nscale = r.take("iiI")
        scales = [r.take("f") for _ in range(nscale)]
        tensors.append(dict(name=name, dtype=dtype, shape=shape, constant=const, scales=scales, zero_point=zp))
    keys = ("kernel_h", "kernel_w", "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top",
            "pad_left", "pad_bottom", "pad_right", "groups")
    for _ in range(nn_):
        name = r.string()
        op, _, nin, nout = r.take("HHII")
        vals = r.take("11i")
        a = dict(zip(keys, vals))
        a["clamp_min"], a["clamp_max"] = r.take("ff")
        a["alpha"] = 0.01
        if op == OPS["LeakyRelu"]:
            a["alpha"], a["clamp_min"] = a["clamp_min"], -INF
        a["axis"], a["output_h"], a["output_w"], a["max_displacement"] = r.take("iiii")
        a["align_corners"], rank, _ = r.take("BBH")
        dims = r.take("6q")
        a["new_shape"] = list(dims[:rank])
        ins = [r.take("i") for _ in range(nin)]
        outs = [r.take("i") for _ in range(nout)]
        nodes.append(dict(name=name, op=op, attrs=a, inputs=ins, outputs=outs))
    out["inputs"] = [r.take("i") for _ in range(ni)]
    out["outputs"] = [r.take("i") for _ in range(no)]
    assert r.p == secs[2][0] + secs[2][1], "graph section not used up"
    r = _R(b, secs[3][0])
    nc, _ = r.take("II")
    consts = []
    for _ in range(nc):
        off, stored, decoded, enc = r.take("QQQB")
        r.p += 7
        assert enc == 0, "entropy-coded constants: read INT8 models in C++"
        consts.append(np.frombuffer(b, np.float32, stored // 4, off))
    for t in tensors:
        if t["constant"] >= 0:
            t["data"] = consts[t["constant"]].reshape(t["shape"])
    out.update(tensors=tensors, nodes=nodes, constants=consts)
    return out


def run_fvm(graph, feeds):
    """Runs a float graph with PyTorch ops (NHWC numpy in and out), in node order."""
    T = graph["tensors"]
    val = {}
    for i in graph["inputs"]:
        val[i] = torch.from_numpy(np.ascontiguousarray(feeds[T[i]["name"]], np.float32)).permute(0, 3, 1, 2)

    def get(i):
        if i in val:
            return val[i]
        d = torch.from_numpy(np.array(T[i]["data"]))
        return d.permute(0, 3, 1, 2) if d.dim() == 4 else d

    from network import correlation, warp
    for n in graph["nodes"]:
        a, op, ins = n["attrs"], n["op"], n["inputs"]
        if op == OPS["Conv2d"]:
            w = torch.from_numpy(np.array(T[ins[1]]["data"])).permute(0, 3, 1, 2)
            bias = torch.from_numpy(np.array(T[ins[2]]["data"])) if ins[2] >= 0 else None
            x = F.pad(get(ins[0]), (a["pad_left"], a["pad_right"], a["pad_top"], a["pad_bottom"]))
            y = F.conv2d(x, w, bias, (a["stride_h"], a["stride_w"]), 0, (a["dilation_h"], a["dilation_w"]), a["groups"])
        elif op == OPS["Add"]:
            y = get(ins[0]) + get(ins[1])
        elif op == OPS["Multiply"]:
            y = get(ins[0]) * get(ins[1])
        elif op == OPS["Concat"]:
            y = torch.cat([get(i) for i in ins], 1)
        elif op == OPS["ResizeBilinear"]:
            y = F.interpolate(get(ins[0]), size=(a["output_h"], a["output_w"]), mode="bilinear",
                              align_corners=bool(a["align_corners"]))
        elif op == OPS["Correlation"]:
            y = correlation(get(ins[0]), get(ins[1]), a["max_displacement"])
        elif op == OPS["Warp"]:
            y = warp(get(ins[0]), get(ins[1]))
        elif op == OPS["Clamp"]:
            y = get(ins[0])
        elif op == OPS["LeakyRelu"]:
            y = F.leaky_relu(get(ins[0]), a["alpha"])
        else:
            raise NotImplementedError(OP_NAMES.get(op, op))
        if op in (OPS["Conv2d"], OPS["Add"], OPS["Clamp"]):
            y = y.clamp(a["clamp_min"], a["clamp_max"])
        val[n["outputs"][0]] = y
    return {T[o]["name"]: val[o].permute(0, 2, 3, 1).numpy() for o in graph["outputs"]}
