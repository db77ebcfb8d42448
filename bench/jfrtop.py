#!/usr/bin/env python3
"""Top frames of a JFR recording's CPU samples (jdk.ExecutionSample): self time per method, inclusive time per
method and per thread group, as percentages of all samples. Needs the JDK's `jfr` tool.

  java -XX:StartFlightRecording=settings=profile,filename=/tmp/r.jfr ... ; python3 bench/jfrtop.py /tmp/r.jfr [N]
"""
import collections, re, subprocess, sys


def samples(path):
    out = subprocess.run(['jfr', 'print', '--events', 'jdk.ExecutionSample', '--stack-depth', '64', path],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    for block in out.split('jdk.ExecutionSample')[1:]:
        thread = re.search(r'sampledThread = "([^"]*)"', block)
        frames = re.findall(r'^\s+([\w$.<>]+\.[\w$<>]+)\(', block, re.M)
        yield (thread.group(1) if thread else '?'), frames


def group(thread):
    return re.sub(r'[-#]?\d+$', '', re.sub(r'\d+', 'N', thread))


def main():
    path, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25
    own, incl, threads = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for thread, frames in samples(path):
        if not frames:
            continue
        total += 1
        own[frames[0]] += 1
        for f in set(frames):
            incl[f] += 1
        threads[group(thread)] += 1
    print(f'{total} samples')
    for title, counter in (('thread group', threads), ('self', own), ('inclusive', incl)):
        print(f'\n{title}:')
        for name, c in counter.most_common(n):
            print(f'  {100.0 * c / total:5.1f} %  {name}')


if __name__ == '__main__':
    main()
