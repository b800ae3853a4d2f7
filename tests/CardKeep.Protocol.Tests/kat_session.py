#!/usr/bin/env python3
"""Independent implementation of the TRK1 session (S1-S5, suite E) with the golden test's fixed randomness.
Uses Python 'cryptography' (Debian python3-cryptography) for P-256 and AES-GCM, stdlib for HKDF/HMAC.
Prints the SHA-256 of S1..S5 that SessionTests.Session_FixedRandomness_MatchesGoldenTranscript asserts."""
import hashlib, hmac, struct, datetime
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

class Seeded:
    def __init__(self, seed): self.seed, self.counter = seed.encode(), 0
    def fill(self, n):
        out = b""
        while len(out) < n:
            out += hashlib.sha256(self.seed + struct.pack("<q", self.counter)).digest()
            self.counter += 1
        return out[:n]

def ephemeral(rng):
    while True:
        d = int.from_bytes(rng.fill(32), "big")
        if 0 < d < N:
            return ec.derive_private_key(d, ec.SECP256R1())

def point(key):
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

extract = lambda ikm, salt: hmac.new(salt, ikm, hashlib.sha256).digest()
def label(k, lbl, ctx, n):
    info, out, t, i = b"TRK1 " + lbl.encode() + b"\x00" + ctx, b"", b"", 1
    while len(out) < n:
        t = hmac.new(k, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:n]
mac = lambda k, d: hmac.new(k, d, hashlib.sha256).digest()
H = lambda *parts: hashlib.sha256(b"TRK1-SES" + b"".join(parts)).digest()
header = lambda t, sid, n: bytes([1, t, ord("E"), 0]) + sid + struct.pack(">I", n)

server, client = Seeded("golden server"), Seeded("golden client")
ssk, server_id, handle = b"\x66" * 32, b"\x5a" * 32, b"\x11" * 16
now_ms = int(datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.timezone.utc).timestamp() * 1000)
sid, r1 = server.fill(16), server.fill(32)
eS = ephemeral(server)
body1 = r1 + point(eS) + server_id + struct.pack(">q", now_ms + 60000)
s1 = header(0x21, sid, len(body1)) + body1
th1 = H(s1)
r2 = client.fill(32)
eC = ephemeral(client)
ee = eC.exchange(ec.ECDH(), eS.public_key())
kh = label(extract(ee, th1), "handle", b"", 32)
h2 = header(0x22, sid, 32 + 65 + 32 + 32)
pre = h2 + r2 + point(eC) + AESGCM(kh).encrypt(b"\x00" * 12, handle, h2 + th1)
th2pre = H(s1, pre)
prk = extract(ee, label(ssk, "ses psk", server_id, 32))
s2 = pre + mac(label(prk, "c auth", th2pre, 32), th2pre)
th2 = H(s1, s2)
s3 = header(0x23, sid, 32) + mac(label(prk, "s auth", th2, 32), th2)
th3 = H(s1, s2, s3)
ms = label(prk, "ses", th3, 32)
def record(t, key, iv, seq, payload):
    h = header(t, sid, 8 + len(payload) + 16)
    s = struct.pack(">Q", seq)
    nonce = iv[:4] + bytes(a ^ b for a, b in zip(iv[4:], s))
    return h + s + AESGCM(key).encrypt(nonce, payload, h + s + th3)
s4 = record(0x31, label(ms, "c2s key", b"", 32), label(ms, "c2s iv", b"", 12), 0, b'{"host":"pc1","location":"office"}')
s5 = record(0x32, label(ms, "s2c key", b"", 32), label(ms, "s2c iv", b"", 12), 0, b'{"schema":1}')
print(hashlib.sha256(s1 + s2 + s3 + s4 + s5).hexdigest())
