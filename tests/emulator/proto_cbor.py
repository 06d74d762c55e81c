"""CBOR codec for Smithy RPC v2 CBOR (CloudWatch), per RFC 8949 as botocore/Rust SDK use it.

Contract: `decode(data)` returns Python values (maps->dict, arrays->list, tag 1 -> float epoch
seconds, byte strings -> bytes; null/undefined map values dropped); `encode(value)` encodes
dict/list/str/bytes/int/float/bool and `Timestamp` (tag 1 + double). Floats are encoded as
doubles. Indefinite-length items are accepted on decode.
"""
import struct


class Timestamp(float):
    """Epoch seconds to be encoded as CBOR tag 1."""


def _head(major, n):
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 256:
        return bytes([(major << 5) | 24, n])
    if n < 65536:
        return bytes([(major << 5) | 25]) + n.to_bytes(2, "big")
    if n < 4294967296:
        return bytes([(major << 5) | 26]) + n.to_bytes(4, "big")
    return bytes([(major << 5) | 27]) + n.to_bytes(8, "big")


def encode(v, out=None):
    """CBOR bytes of v."""
    top = out is None
    out = bytearray() if top else out
    if v is None:
        out.append(0xF6)
    elif isinstance(v, bool):
        out.append(0xF5 if v else 0xF4)
    elif isinstance(v, Timestamp):
        out += _head(6, 1)
        out += b"\xfb" + struct.pack(">d", float(v))
    elif isinstance(v, int):
        out += _head(0, v) if v >= 0 else _head(1, -1 - v)
    elif isinstance(v, float):
        out += b"\xfb" + struct.pack(">d", v)
    elif isinstance(v, str):
        b = v.encode("utf-8")
        out += _head(3, len(b)) + b
    elif isinstance(v, (bytes, bytearray)):
        out += _head(2, len(v)) + bytes(v)
    elif isinstance(v, (list, tuple)):
        out += _head(4, len(v))
        for x in v:
            encode(x, out)
    elif isinstance(v, dict):
        items = [(k, x) for k, x in v.items() if x is not None]
        out += _head(5, len(items))
        for k, x in items:
            encode(k, out)
            encode(x, out)
    else:
        raise TypeError(f"cannot CBOR-encode {type(v)}")
    return bytes(out) if top else out


class _Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def take(self, n):
        if self.i + n > len(self.d):
            raise ValueError("truncated CBOR")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def arg(self, info):
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            return int.from_bytes(self.take(1 << (info - 24)), "big")
        if info == 31:
            return None
        raise ValueError(f"bad CBOR additional info {info}")

    def is_break(self):
        if self.d[self.i:self.i + 1] == b"\xff":
            self.i += 1
            return True
        return False

    def item(self):
        ib = self.take(1)[0]
        major, info = ib >> 5, ib & 31
        if major == 0:
            return self.arg(info)
        if major == 1:
            return -1 - self.arg(info)
        if major in (2, 3):
            n = self.arg(info)
            if n is None:
                chunks = []
                while not self.is_break():
                    sub = self.take(1)[0]
                    chunks.append(self.take(self.arg(sub & 31)))
                raw = b"".join(chunks)
            else:
                raw = self.take(n)
            return raw.decode("utf-8") if major == 3 else raw
        if major == 4:
            n = self.arg(info)
            if n is None:
                out = []
                while not self.is_break():
                    out.append(self.item())
                return out
            return [self.item() for _ in range(n)]
        if major == 5:
            n = self.arg(info)
            out = {}
            if n is None:
                while not self.is_break():
                    k = self.item()
                    v = self.item()
                    if v is not None:
                        out[k] = v
            else:
                for _ in range(n):
                    k = self.item()
                    v = self.item()
                    if v is not None:
                        out[k] = v
            return out
        if major == 6:
            tag = self.arg(info)
            v = self.item()
            if tag == 1:
                return float(v)
            return v
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        raise ValueError(f"unsupported CBOR simple value {info}")


def decode(data):
    """Python value of CBOR bytes (empty body -> {})."""
    if not data:
        return {}
    r = _Reader(bytes(data))
    v = r.item()
    return v
