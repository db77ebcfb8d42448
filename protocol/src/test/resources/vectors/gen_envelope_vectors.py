#!/usr/bin/env python3
"""Independent generator of the OpenKCM envelope v1 known-answer vectors.

Written against protocol/ENVELOPE.md with Python's `cryptography` package (not the Java codec), so the
Java tests check the codec against a second implementation of the spec. Run:
    python3 gen_envelope_vectors.py > envelope-v1.txt
"""
import struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def header(tenant, service, l3_version, key_length):
    t, s = tenant.encode("ascii"), service.encode("ascii")
    return (b"KC" + bytes([1, len(t)]) + t + bytes([len(s)]) + s + struct.pack(">I", l3_version)
            + bytes([key_length]))


def canonical_context(ctx):
    items = sorted(((k.encode("utf-8"), v.encode("utf-8")) for k, v in ctx.items()), key=lambda kv: kv[0])
    out = struct.pack(">H", len(items))
    for k, v in items:
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out


VECTORS = [
    ("minimal-no-context", "00" * 32, "acme", "payments", 1, "00" * 12, "11" * 32, {}),
    ("with-context", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "acme", "payments", 7,
     "a0a1a2a3a4a5a6a7a8a9aaab", "deadbeef" * 8, {"record": "42", "table": "orders"}),
    ("utf8-context-sorted-by-bytes", "ff" * 32, "tenant-b.eu", "audit_log", 4294967295,
     "0102030405060708090a0b0c", "5a" * 16, {"z": "last", "\u00e9": "accent", "A": "upper"}),
    ("aes-128-dek", "42" * 32, "t", "s", 2, "ffffffffffffffffffffffff", "0f" * 16, {"user": "alice"}),
]

for name, key, tenant, service, l3v, nonce, plaintext, ctx in VECTORS:
    h = header(tenant, service, l3v, len(bytes.fromhex(plaintext)))
    aad = h + canonical_context(ctx)
    ct = AESGCM(bytes.fromhex(key)).encrypt(bytes.fromhex(nonce), bytes.fromhex(plaintext), aad)
    print("name: " + name)
    print("l3_key: " + key)
    print("tenant: " + tenant)
    print("service: " + service)
    print("l3_version: %d" % l3v)
    print("nonce: " + nonce)
    print("plaintext: " + plaintext)
    for k, v in ctx.items():
        print("context." + k + ": " + v)
    print("envelope: " + (h + bytes.fromhex(nonce) + ct).hex())
    print()
