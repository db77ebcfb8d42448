#!/usr/bin/python3
"""KMIP load with the PyKMIP client: N client processes for S seconds, one connection each.

usage: pykmip_load.py HOST PORT CERT KEY CA VERSION WORKLOAD CLIENTS SECONDS
WORKLOAD: cycle (Create + Get + Destroy, three requests) or get (Get of one key made beforehand).
Prints one JSON line: {"workload", "clients", "requests", "seconds", "rps", "p50_ms", "p99_ms", "errors"}
where the latencies are per request.
"""
import json
import multiprocessing
import sys
import time

from kmip.core import enums
from kmip.pie.client import ProxyKmipClient

VERSIONS = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4,
            "2.0": enums.KMIPVersion.KMIP_2_0}


def client(args):
    host, port, cert, key, ca, version = args[:6]
    return ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                           config_file="/dev/null", kmip_version=VERSIONS[version])


def worker(args, workload, start_at, stop_at, out):
    latencies = []
    errors = 0
    c = client(args)
    c.open()
    try:
        uid = c.create(enums.CryptographicAlgorithm.AES, 256) if workload == "get" else None
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            try:
                if workload == "get":
                    t = time.perf_counter()
                    c.get(uid)
                    latencies.append(time.perf_counter() - t)
                else:
                    t = time.perf_counter()
                    new = c.create(enums.CryptographicAlgorithm.AES, 256)
                    t1 = time.perf_counter()
                    c.get(new)
                    t2 = time.perf_counter()
                    c.destroy(new)
                    t3 = time.perf_counter()
                    latencies.extend([t1 - t, t2 - t1, t3 - t2])
            except Exception:
                errors += 1
    finally:
        c.close()
    out.put((latencies, errors))


def main():
    args = sys.argv[1:7]
    workload, clients, seconds = sys.argv[7], int(sys.argv[8]), float(sys.argv[9])
    out = multiprocessing.Queue()
    start_at = time.time() + 2.0 + 0.2 * clients
    stop_at = start_at + seconds
    procs = [multiprocessing.Process(target=worker, args=(args, workload, start_at, stop_at, out))
             for _ in range(clients)]
    for p in procs:
        p.start()
    latencies, errors = [], 0
    for _ in procs:
        l, e = out.get()
        latencies.extend(l)
        errors += e
    for p in procs:
        p.join()
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) \
            if latencies else None

    print(json.dumps({"workload": workload, "clients": clients, "requests": len(latencies),
                      "seconds": seconds, "rps": round(len(latencies) / seconds, 1),
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
