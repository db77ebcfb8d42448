#!/usr/bin/env python3
"""Where a running load driver's CPU goes: CPU ticks (user + system, 1 tick = 10 ms) per thread group of the
GatewayLoadDriver JVM over a window, read from /proc/<pid>/task/*/stat (Linux). Thread names lose their numbers,
so e.g. all `grpc-default-worker-ELG-*` event loops add up into one line.

  python3 bench/threads.py [SECONDS=6] [PATTERN='^java .*GatewayLoadDriver']
"""
import collections, os, re, subprocess, sys, time


def snap(pid):
    out = {}
    for t in os.listdir(f'/proc/{pid}/task'):
        try:
            s = open(f'/proc/{pid}/task/{t}/stat').read()
        except OSError:
            continue  # the thread ended
        comm = s[s.index('(') + 1:s.rindex(')')]
        f = s[s.rindex(')') + 2:].split()
        out[t] = (comm, int(f[11]) + int(f[12]))  # utime + stime
    return out


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6
    pattern = sys.argv[2] if len(sys.argv) > 2 else '^java .*GatewayLoadDriver'
    pids = subprocess.run(['pgrep', '-f', pattern], capture_output=True, text=True).stdout.split()
    if not pids:
        sys.exit(f'no process matches {pattern!r}')
    before = snap(pids[0])
    time.sleep(seconds)
    after = snap(pids[0])
    groups = collections.Counter()
    for t, (comm, ticks) in after.items():
        groups[re.sub(r'[-#]?\d+$', '', comm)] += ticks - before.get(t, (comm, 0))[1]
    total = sum(groups.values()) or 1
    for name, ticks in groups.most_common(15):
        print(f'{ticks:6d} {100 * ticks / total:5.1f} % {name}')
    print(f'{total:6d} ticks in all over {seconds:g} s')


if __name__ == '__main__':
    main()
