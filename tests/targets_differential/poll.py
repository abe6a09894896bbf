#!/usr/bin/env python3
"""Wait until Prometheus instances have synced every job, then save targets.

Usage: poll.py JOBS_TSV DEADLINE_SECONDS NAME=URL OUTFILE [NAME=URL OUTFILE ...]

A job is synced when prometheus_target_scrape_pool_sync_total{scrape_job=J}
>= 1 (its scrape pool processed a discovery snapshot). After every job of
every instance has synced, /api/v1/targets?state=any is fetched until two
consecutive answers (1 s apart) carry the same targets; then each `data`
object is written to its OUTFILE. Exit 1 with a message naming the missing
jobs when DEADLINE_SECONDS pass first.
"""
import json
import re
import sys
import time
import urllib.request

SYNC_RE = re.compile(r'^prometheus_target_scrape_pool_sync_total\{scrape_job="((?:[^"\\]|\\.)*)"\} (\S+)$', re.M)


def get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode('utf-8')


def synced_jobs(base):
    try:
        text = get(base + '/metrics')
    except Exception:
        return None
    out = set()
    for m in SYNC_RE.finditer(text):
        if float(m.group(2)) >= 1:
            out.add(m.group(1).replace('\\"', '"').replace('\\\\', '\\'))
    return out


def targets(base):
    data = json.loads(get(base + '/api/v1/targets?state=any', timeout=10))['data']
    key = {
        'active': sorted(json.dumps([t['scrapePool'], t['labels'], t['discoveredLabels'], t['scrapeUrl']], sort_keys=True)
                         for t in data.get('activeTargets') or []),
        'dropped': sorted(json.dumps(t['discoveredLabels'], sort_keys=True) for t in data.get('droppedTargets') or []),
    }
    return data, key


def main():
    jobs_tsv, deadline = sys.argv[1], float(sys.argv[2])
    pairs = sys.argv[3:]
    inst = [(pairs[i].split('=', 1)[0], pairs[i].split('=', 1)[1], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    jobs = set()
    with open(jobs_tsv, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                jobs.add(line.split('\t')[0])
    start = time.monotonic()
    end = start + deadline
    missing = {name: set(jobs) for name, _, _ in inst}
    answered = set()
    while time.monotonic() < end:
        for name, base, _ in inst:
            if missing[name]:
                s = synced_jobs(base)
                if s is not None:
                    answered.add(name)
                    missing[name] = jobs - s
                elif name not in answered and time.monotonic() - start > 15:
                    print('poll: %s: Prometheus does not answer on %s (config rejected? see its log)' % (name, base),
                          file=sys.stderr)
                    return 1
        if not any(missing.values()):
            break
        time.sleep(0.5)
    else:
        for name, base, _ in inst:
            if missing[name]:
                print('poll: %s: after %.0fs, %d job(s) never synced: %s' % (
                    name, deadline, len(missing[name]), ', '.join(sorted(missing[name])[:20])), file=sys.stderr)
        return 1
    print('poll: every job synced after %.1fs' % (time.monotonic() - start), file=sys.stderr)

    prev = {}
    while time.monotonic() < end:
        cur = {}
        for name, base, _ in inst:
            cur[name] = targets(base)
        if prev and all(prev[n][1] == cur[n][1] for n in cur):
            for name, _, outfile in inst:
                with open(outfile, 'w', encoding='utf-8') as f:
                    json.dump(cur[name][0], f)
            print('poll: stable after %.1fs' % (time.monotonic() - start), file=sys.stderr)
            return 0
        prev = cur
        time.sleep(1)
    print('poll: targets did not become stable within %.0fs' % deadline, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
