#!/usr/bin/env python3
"""Runs a command and reports the CPU time of its threads by name (from /proc, sampled every 0.5 s until it
exits): exact per-thread CPU, where a JFR recording only samples. Thread names are the kernel's (15 characters),
digits folded, e.g. `audit-trail-wri`, `openkcm-audit`, `grpc-default-wo`.

  (--skip S: count only what the threads spend after the first S seconds, e.g. prewarm, warmup and JIT)
  python3 bench/threadcpu.py --skip 30 -- java -cp ... org.openkcm.bench.GatewayLoadDriver --scenarios Decrypt ...
"""
import collections, os, re, subprocess, sys, time

TICK = os.sysconf('SC_CLK_TCK')


def threads(pid):
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index('(') + 1:s.rindex(')')]
        fields = s[s.rindex(')') + 2:].split()
        out[tid] = (name, (int(fields[11]) + int(fields[12])) / TICK, int(fields[12]) / TICK)  # utime + stime, stime
    return out


def main():
    own = sys.argv[1:sys.argv.index('--')] if '--' in sys.argv else []
    cmd = sys.argv[sys.argv.index('--') + 1:] if '--' in sys.argv else sys.argv[1:]
    skip = float(own[own.index('--skip') + 1]) if '--skip' in own else 0.0
    start = time.monotonic()
    p = subprocess.Popen(cmd)
    last, base = {}, None
    while p.poll() is None:
        try:
            last.update(threads(p.pid))
        except OSError:
            pass
        if base is None and time.monotonic() - start >= skip:
            base = dict(last)
        time.sleep(0.5)
    base = base or {}
    by, kernel = collections.Counter(), collections.Counter()
    for tid, (name, cpu, sys_) in last.items():
        was = base.get(tid, (name, 0.0, 0.0))
        by[re.sub(r'\d+', 'N', name)] += cpu - was[1]
        kernel[re.sub(r'\d+', 'N', name)] += sys_ - was[2]
    total = sum(by.values())
    print(f'# thread CPU (s), total {total:.1f}')
    for name, cpu in by.most_common():
        print(f'# {cpu:8.2f} {100 * cpu / total:5.1f} %  {name:16s} (in the kernel {kernel[name]:.2f})')
    sys.exit(p.returncode)


if __name__ == '__main__':
    main()
