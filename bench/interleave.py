#!/usr/bin/env python3
"""Runs GatewayLoadDriver variants interleaved (A, B, A, B, ...) and prints, per variant, scenario and
concurrency, the median of the runs with min-max: req/s, p50 and p99, and the ratio of each to the echo's in
the same run, and the CPU time per call spent by the driver's JVM (client, and the in-process gateway and Core)
plus the local PostgreSQL. The machine is shared and noisy: only ratios within one run are compared, and CPU per
call, which other tenants' load barely changes. With the Relay scenario in a run (the echo over two hops, the
second over the gateway's Core stream link, no work at either end), it also prints each call's p99 against
Relay's: what a call with one Core hop costs beyond the transport's own two hops.

  (a variant's arguments may start with --root=DIR: the driver of another checkout, e.g. the commit before;
  -D/-X arguments go to the JVM, e.g. -Dopenkcm.audit.trail.enabled=true)
  python3 bench/interleave.py --runs 3 --variant 'pekko=--core-client pekko' --variant 'netty=--core-client netty' \
      -- --seconds 5 --warmup 4 --concurrency 1,16 --core-keys on --skip-core true --scenarios Echo,Relay,Decrypt
"""
import argparse, json, shlex, statistics, subprocess, sys

CP = 'bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*'


def run(args):
    cp = CP
    if args and args[0].startswith('--root='):
        # another checkout's build (a before/after comparison)
        root = args[0].split('=', 1)[1]
        cp = ':'.join(f'{root}/{part}' for part in CP.split(':'))
        args = args[1:]
    jvm = [a for a in args if a.startswith('-D') or a.startswith('-X')]  # JVM options (config overrides)
    args = [a for a in args if a not in jvm]
    out = subprocess.run(['java'] + jvm + ['-cp', cp, 'org.openkcm.bench.GatewayLoadDriver'] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=1800).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith('{')]


def key(l):
    c = l['concurrency'] if 'concurrency' in l else f"open {l['openLoopRate']}/s"
    return (l['scenario'], c, l.get('batch', 1))


def fmt(xs, digits=2):
    xs = sorted(xs)
    med = statistics.median(xs)
    f = (lambda v: f'{v:,.{digits}f}') if digits else (lambda v: f'{v:,.0f}')
    return f'{f(med)} ({f(xs[0])}-{f(xs[-1])})' if len(xs) > 1 else f(med)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--variant', action='append', default=[], help='NAME=extra driver arguments')
    p.add_argument('rest', nargs=argparse.REMAINDER)
    a = p.parse_args()
    common = [x for x in a.rest if x != '--']
    variants = [(v.split('=', 1)[0], shlex.split(v.split('=', 1)[1])) for v in a.variant] or [('run', [])]
    results = {name: [] for name, _ in variants}
    for i in range(a.runs):
        for name, extra in variants:
            lines = run(common + extra)
            results[name].append(lines)
            print(f'# run {i + 1} {name}: ' + ', '.join(
                f"{key(l)[0]}/{key(l)[1]}={l['opsPerSec']}" for l in lines), file=sys.stderr, flush=True)
            for l in lines:  # the raw figures, to compute other statistics later
                print(f'#json {name} {json.dumps(l)}', file=sys.stderr, flush=True)
    print('| variant | scenario | callers | req/s | × echo | p50 µs | p50 × echo | p99 µs | p99 × echo | keys/s '
          '| CPU µs/call (JVM + PostgreSQL) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    rounds = {}
    against_relay = {}
    for name, _ in variants:
        keys = []
        for lines in results[name]:
            for l in lines:
                k = key(l)
                if k not in keys:
                    keys.append(k)
        for scen, c, batch in keys:
            ops, p50, p99, r, r50, r99, kps, cpu, paired = [], [], [], [], [], [], [], [], []
            relay99 = []
            for lines in results[name]:
                by = {key(l): l for l in lines}
                l = by.get((scen, c, batch))
                if not l:
                    continue
                e = by.get(('Echo', c, 1))
                ops.append(l['opsPerSec']); p50.append(l['p50us']); p99.append(l['p99us']); kps.append(l['keysPerSec'])
                if 'cpuUsPerOp' in l:  # CPU per call: steadier than req/s on a noisy machine
                    cpu.append(l['cpuUsPerOp'] + l['dbCpuUsPerOp'])
                if e:
                    r.append(l['opsPerSec'] / e['opsPerSec']); r50.append(l['p50us'] / e['p50us']); r99.append(l['p99us'] / e['p99us'])
                two = by.get(('Relay', c, 1))
                if two and scen not in ('Echo', 'Relay'):  # against the two-hop baseline, same run
                    relay99.append(l['p99us'] / two['p99us'])
                if e and 'roundP99us' in l:  # interleaved open loop: each round's p99 against the echo's
                    paired.extend(x / max(1, y) for x, y in zip(l['roundP99us'], e['roundP99us']))
            label = scen if batch == 1 else f'{scen} ×{batch}'
            if paired:
                rounds[(name, label)] = paired
            if relay99:
                against_relay[(name, label, c)] = relay99
            print(f"| {name} | {label} | {c} | {fmt(ops, 0)} | {fmt(r) if r else ''} | {fmt(p50, 0)} | "
                  f"{fmt(r50) if r50 else ''} | {fmt(p99, 0)} | {fmt(r99) if r99 else ''} | {fmt(kps, 0)} | "
                  f"{fmt(cpu, 0) if cpu else ''} |")
    if rounds:
        # the same rounds paired: a scenario's p99 in round k of a run against the echo's in round k (the
        # windows next to each other in time), over all rounds of all runs; quartiles show the spread
        print()
        print('| variant | scenario | paired rounds | round p99 × echo\'s round p99: median (quartiles) |')
        print('|---|---|---|---|')
        for (name, label), xs in rounds.items():
            q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
            print(f'| {name} | {label} | {len(xs)} | {q[1]:.2f} ({q[0]:.2f}-{q[2]:.2f}) |')


    if against_relay:
        # a call with one Core hop against the transport's own two hops with no work (Relay), same run
        print()
        print('| variant | scenario | callers | runs | p99 × Relay\'s p99: median (min-max) |')
        print('|---|---|---|---|---|')
        for (name, label, c), xs in against_relay.items():
            print(f'| {name} | {label} | {c} | {len(xs)} | {fmt(xs)} |')


if __name__ == '__main__':
    main()
