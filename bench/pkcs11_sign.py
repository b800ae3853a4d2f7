#!/usr/bin/python3
"""Signatures per second through PKCS#11 -> OpenSC -> pcscd -> card, for one key (bench/vsc.sh runs it).

Usage: pkcs11_sign.py MODULE READER_SUBSTRING PIN KEY_ID_HEX MECHANISM SECONDS
MECHANISM: ECDSA (32-byte hash input) or RSA-PKCS (DigestInfo input, as OpenSSH does).
"""
import sys, time, hashlib
import PyKCS11

module, reader, pin, key_id, mechanism, seconds = sys.argv[1:7]
lib = PyKCS11.PyKCS11Lib()
lib.load(module)
slot = next(s for s in lib.getSlotList(tokenPresent=True) if reader in lib.getSlotInfo(s).slotDescription)
session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
session.login(pin)
key = session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, bytes.fromhex(key_id))])[0]
digest = hashlib.sha256(b"CardKeep benchmark").digest()
if mechanism == "ECDSA":
    mech, data = PyKCS11.Mechanism(PyKCS11.CKM_ECDSA), digest
else:
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + digest
    mech, data = PyKCS11.Mechanism(PyKCS11.CKM_RSA_PKCS), digest_info
for _ in range(3):
    session.sign(key, data, mech)
latencies = []
end = time.monotonic() + float(seconds)
start = time.monotonic()
while time.monotonic() < end:
    t = time.monotonic()
    session.sign(key, data, mech)
    latencies.append(time.monotonic() - t)
total = time.monotonic() - start
latencies.sort()
print(f"{reader}\t{mechanism}\t{len(latencies)} signatures in {total:.1f} s\t{len(latencies)/total:.1f} sig/s\t"
      f"p50 {latencies[len(latencies)//2]*1000:.2f} ms\tp99 {latencies[int(len(latencies)*0.99)]*1000:.2f} ms")
session.logout()
