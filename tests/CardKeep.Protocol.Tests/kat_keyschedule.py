#!/usr/bin/env python3
"""Independent computation of TRK1 key-schedule known answers (stdlib hmac/hashlib only).
Prints the hex values that KeyScheduleTests.cs asserts. Run: python3 tests/CardKeep.Protocol.Tests/kat_keyschedule.py"""
import hashlib, hmac

def extract(ikm, salt):
    return hmac.new(salt, ikm, hashlib.sha256).digest()

def expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]

def label(k, lbl, ctx, length):
    return expand(k, b"TRK1 " + lbl.encode() + b"\x00" + ctx, length)

b = lambda v: bytes([v]) * 32
ssk = label(extract(b(1) + b(2) + b(3), b(4)), "ssk", b"", 32)
print("ssk", ssk.hex())
print("reg_c2s", label(b(0x0b), "reg c2s", b(5), 44).hex())
print("fin_c", hmac.new(label(b(6), "reg fin c", b"", 32), b(7), hashlib.sha256).hexdigest())
print("fin_s", hmac.new(label(b(6), "reg fin s", b"", 32), b(7), hashlib.sha256).hexdigest())
psk = label(b(6), "ses psk", b(8), 32)
prk = extract(b(3), psk)
print("psk", psk.hex())
print("prk", prk.hex())
print("k_c", label(prk, "c auth", b(9), 32).hex())
print("k_s", label(prk, "s auth", b(9), 32).hex())
print("k_h", label(extract(b(3), b(0x0a)), "handle", b"", 32).hex())
ms = label(prk, "ses", b(4), 32)
for name in ["c2s key", "c2s iv", "s2c key", "s2c iv"]:
    print(name.replace(" ", "_"), label(ms, name, b"", 12 if name.endswith("iv") else 32).hex())
