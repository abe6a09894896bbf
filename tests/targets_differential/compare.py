#!/usr/bin/env python3
"""Compare `sdscope targets -o json` with Prometheus's /api/v1/targets.

Usage: compare.py WORKDIR [--prometheus-only]

WORKDIR holds jobs.tsv and scenarios.txt (prepare.py), p1.json (the `data`
of run 1: the configs as written), p2.json (run 2: every job's relabeling
replaced by "drop everything", so its droppedTargets carry the true
discovered labels of every target) and, unless --prometheus-only,
sd/<scenario>.{json,err,rc} (sdscope's stdout, stderr and exit status).

Per job (scrape pool), with D = the multiset of true discovered label sets
from run 2:
  1. active targets: the sorted lists of (labels, scrapeUrl) of run 1 and
     of sdscope are equal;
  2. every discoveredLabels sdscope shows (active or dropped) is in D, and
     its dropped ones form a sub-multiset of D;
  3. the dropped count equals run 1's, and every run-1 dropped entry whose
     discoveredLabels are a member of D (i.e. not rewritten by the 2.42 bug)
     is among sdscope's dropped ones;
  4. for each run-1 active target whose discoveredLabels are in D (not
     rewritten by the bug), an sdscope active target with the same labels
     and URL shows the same discoveredLabels (skipped for scenarios marked
     "# dup-ok": Prometheus shows the labels of a random duplicate).
Extra keys (source, droppedBy, ...) are ignored.

Prints PASS/FAIL/SKIP per scenario with a readable diff; exits 1 on any FAIL.
"""
import json
import os
import re
import sys
from collections import Counter, defaultdict

HTTP_UNAVAILABLE = re.compile(r'(unavailable|not (yet )?implemented|not available|unsupported|not supported)', re.I)


def lkey(d):
    return json.dumps(d or {}, sort_keys=True, ensure_ascii=False)


def fmt(d):
    d = d or {}
    return '{' + ', '.join('%s=%s' % (k, json.dumps(d[k], ensure_ascii=False)) for k in sorted(d)) + '}'


MARKER = '__param_sdscope_pool'


def by_pool(data, pools_of=None):
    """Group targets by scrape pool. Dropped targets of 2.42 carry no
    scrapePool: in run 2 the marker label (prepare.py) names the pool; in run
    1 the pool whose true discovered labels contain the target's (pools_of),
    else its job label."""
    act, drop = defaultdict(list), defaultdict(list)
    for t in (data or {}).get('activeTargets') or []:
        act[t.get('scrapePool')].append(t)
    for t in (data or {}).get('droppedTargets') or []:
        pool = t.get('scrapePool')
        disc = t.get('discoveredLabels') or {}
        if MARKER in disc:
            disc = dict(disc)
            pool = disc.pop(MARKER)
            t = dict(t, discoveredLabels=disc)
        elif pool is None:
            cands = (pools_of or {}).get(lkey(disc), [])
            if len(cands) == 1:
                pool = cands[0]
            elif disc.get('job') in cands or not cands:
                pool = disc.get('job')
            else:
                pool = cands[0]
        drop[pool].append(t)
    return act, drop


def load_json(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def compare_job(job, flags, p1a, p1d, D, sa, sd):
    problems = []
    Dset = Counter(lkey(t.get('discoveredLabels')) for t in D)

    # 1. active labels + URL
    pa = Counter(lkey(t.get('labels')) + '\t' + t.get('scrapeUrl', '') for t in p1a)
    xa = Counter(lkey(t.get('labels')) + '\t' + t.get('scrapeUrl', '') for t in sa)
    if pa != xa:
        lines = ['active targets differ (labels, scrapeUrl):']
        for k in sorted((pa - xa).elements()):
            lab, url = k.split('\t')
            lines.append('  - prometheus: %s %s' % (fmt(json.loads(lab)), url))
        for k in sorted((xa - pa).elements()):
            lab, url = k.split('\t')
            lines.append('  + sdscope:    %s %s' % (fmt(json.loads(lab)), url))
        problems.append('\n'.join(lines))

    # 2. every discovered label set sdscope shows must exist in D
    bad = [t for t in sa if lkey(t.get('discoveredLabels')) not in Dset]
    if bad:
        lines = ['active targets whose discoveredLabels Prometheus never discovered:']
        for t in bad:
            lines.append('  + sdscope:    %s  (labels %s)' % (fmt(t.get('discoveredLabels')), fmt(t.get('labels'))))
        problems.append('\n'.join(lines))
    sdrop = Counter(lkey(t.get('discoveredLabels')) for t in sd)
    extra = sdrop - Dset
    if extra:
        lines = ['dropped targets whose discoveredLabels Prometheus never discovered (or too many of them):']
        lines += ['  + sdscope:    %s' % fmt(json.loads(k)) for k in sorted(extra.elements())]
        problems.append('\n'.join(lines))

    # 3. dropped targets
    pdrop = Counter(lkey(t.get('discoveredLabels')) for t in p1d)
    trusted = Counter({k: v for k, v in pdrop.items() if k in Dset})
    if len(p1d) != len(sd):
        problems.append('dropped targets: prometheus %d, sdscope %d' % (len(p1d), len(sd)))
    missing = trusted - sdrop
    if missing:
        lines = ['dropped by prometheus, not dropped by sdscope:']
        lines += ['  - prometheus: %s' % fmt(json.loads(k)) for k in sorted(missing.elements())]
        problems.append('\n'.join(lines))

    # 4. pairing of active targets with their discovered labels
    if 'dup-ok' not in flags:
        sd_by_key = defaultdict(set)
        for t in sa:
            sd_by_key[lkey(t.get('labels')) + '\t' + t.get('scrapeUrl', '')].add(lkey(t.get('discoveredLabels')))
        lines = []
        for t in p1a:
            disc = lkey(t.get('discoveredLabels'))
            k = lkey(t.get('labels')) + '\t' + t.get('scrapeUrl', '')
            if disc in Dset and k in sd_by_key and disc not in sd_by_key[k]:
                lines.append('  target %s %s' % (fmt(t.get('labels')), t.get('scrapeUrl')))
                lines.append('    - prometheus: %s' % fmt(t.get('discoveredLabels')))
                for o in sorted(sd_by_key[k]):
                    lines.append('    + sdscope:    %s' % fmt(json.loads(o)))
        if lines:
            problems.append('\n'.join(['discoveredLabels of active targets differ:'] + lines))
    return problems


def main():
    work = sys.argv[1]
    prom_only = '--prometheus-only' in sys.argv[2:]
    jobs_of = defaultdict(list)
    with open(os.path.join(work, 'jobs.tsv'), encoding='utf-8') as f:
        for line in f:
            job, scen, flags = line.rstrip('\n').split('\t')
            jobs_of[scen].append((job, flags.split(',')))
    with open(os.path.join(work, 'scenarios.txt'), encoding='utf-8') as f:
        scenarios = [l.strip() for l in f if l.strip()]

    _, p2d = by_pool(load_json(os.path.join(work, 'p2.json')))
    pools_of = defaultdict(list)
    for pool, ts in p2d.items():
        for t in ts:
            k = lkey(t.get('discoveredLabels'))
            if pool not in pools_of[k]:
                pools_of[k].append(pool)
    p1a, p1d = by_pool(load_json(os.path.join(work, 'p1.json')), pools_of)

    npass = nfail = nskip = 0
    for scen in scenarios:
        jobs = jobs_of.get(scen, [])
        summary = []
        problems = []
        for job, flags in jobs:
            D = p2d.get(job, [])
            if not D:
                problems.append('job %s: Prometheus discovered no targets (run 2) - scenario is not meaningful' % job)
            summary.append('%s: %d discovered, %d active, %d dropped' % (
                job.split('/', 1)[1], len(D), len(p1a.get(job, [])), len(p1d.get(job, []))))
        if prom_only:
            if problems:
                nfail += 1
                print('FAIL %s (prometheus side)\n  %s' % (scen, '\n  '.join(problems)))
            else:
                npass += 1
                print('ok   %s (prometheus only; %s)' % (scen, '; '.join(summary)))
            continue

        rc = open(os.path.join(work, 'sd', scen + '.rc')).read().strip()
        err = open(os.path.join(work, 'sd', scen + '.err'), encoding='utf-8', errors='replace').read()
        uses_http = any('http' in fl for _, fl in jobs)
        if rc != '0':
            if uses_http and re.search(r'http', err, re.I) and HTTP_UNAVAILABLE.search(err):
                nskip += 1
                print('SKIP %s: sdscope reports http discovery unavailable: %s' % (scen, err.strip().splitlines()[0][:200]))
                continue
            nfail += 1
            print('FAIL %s: sdscope exited with status %s\n  stderr: %s' % (
                scen, rc, '\n          '.join(err.strip().splitlines()[:8])))
            continue
        try:
            sdata = load_json(os.path.join(work, 'sd', scen + '.json'))
        except Exception as e:  # noqa: BLE001
            nfail += 1
            print('FAIL %s: sdscope output is not JSON (%s)' % (scen, e))
            continue
        if not isinstance(sdata, dict):
            nfail += 1
            print('FAIL %s: sdscope output is not a JSON object' % scen)
            continue
        sa, sdd = by_pool(sdata)
        known = {j for j, _ in jobs}
        for pool in sorted((set(sa) | set(sdd)) - known, key=str):
            problems.append('sdscope shows targets of an unknown scrape pool %r' % pool)
        for job, flags in jobs:
            for p in compare_job(job, flags, p1a.get(job, []), p1d.get(job, []), p2d.get(job, []),
                                 sa.get(job, []), sdd.get(job, [])):
                problems.append('job %s: %s' % (job.split('/', 1)[1], p))
        if problems:
            nfail += 1
            print('FAIL %s\n  %s' % (scen, '\n  '.join('\n  '.join(p.splitlines()) for p in problems)))
        else:
            npass += 1
            print('ok   %s (%s)' % (scen, '; '.join(summary)))

    print('targets_differential: %d scenarios, %d passed, %d failed, %d skipped%s' % (
        len(scenarios), npass, nfail, nskip, ' (Prometheus side only)' if prom_only else ''))
    return 1 if nfail else 0


if __name__ == '__main__':
    sys.exit(main())
