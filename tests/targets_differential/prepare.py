#!/usr/bin/env python3
"""Turn the scenarios of testdata/targets into the configs the harness runs.

Usage: prepare.py SCENARIO_DIR WORKDIR HTTP_BASE HTTPS_BASE [ZOOKEEPER]

For every scenario S (S.yml, or S/prometheus.yml plus its files):
  WORKDIR/S/            copy of the scenario directory (served over HTTP too;
                        "@HTTP@" in its *.json files replaced as in the
                        config, for APIs whose answers name the fixture's
                        URLs, e.g. a Keystone token's service catalog)
  WORKDIR/...           the files of S/root/, if any, for APIs whose paths
                        are fixed absolute ones (triton's /v1/discover)
  WORKDIR/S.yml         the scenario for sdscope: jobs renamed to "S/<job>",
                        file_sd paths made relative to WORKDIR ("S/<path>"),
                        global scrape_interval/scrape_timeout pushed into jobs,
                        "@HTTP@" replaced by HTTP_BASE/S ("@TCP@" the same
                        with the tcp:// scheme, for docker hosts), "@ZOOKEEPER@"
                        by ZOOKEEPER (host:port of the harness's ZooKeeper)
  WORKDIR/run1.yml      all scenarios merged into one config (one job each)
  WORKDIR/run2.yml      the same with every job's relabel_configs replaced by
                        one rule dropping everything (true discovered labels)
  WORKDIR/jobs.tsv      job<TAB>scenario<TAB>flags (flags: dup-ok, http)
  WORKDIR/znodes.json   the znodes (path -> data) of every scenario's
                        S/znodes.json merged, for the ZooKeeper the harness
                        starts when this file exists (serverset, nerve)
"""
import json
import os
import re
import shutil
import sys

import yaml


class NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


POOL_PARAM = 'sdscope_pool'
DURATION_RE = re.compile(r'^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$')


def duration_ms(text):
    if text in (None, '', '0'):
        return 0
    m = DURATION_RE.match(str(text))
    if not m:
        raise ValueError('bad duration %r' % text)
    mult = [365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1]
    return sum(int(g or 0) * k for g, k in zip(m.groups(), mult))


def header_flags(path):
    flags = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            if not line.startswith('#'):
                break
            if line.startswith('# dup-ok'):
                flags.append('dup-ok')
    return flags


def main():
    src, work, http_base, https_base = sys.argv[1:5]
    zookeeper = sys.argv[5] if len(sys.argv) > 5 else '127.0.0.1:2181'
    entries = []
    znodes = {}
    for name in sorted(os.listdir(src)):
        p = os.path.join(src, name)
        if name.endswith('.yml') and os.path.isfile(p):
            entries.append((name[:-4], p, None))
        elif os.path.isdir(p) and os.path.isfile(os.path.join(p, 'prometheus.yml')):
            entries.append((name, os.path.join(p, 'prometheus.yml'), p))
    if not entries:
        sys.exit('no scenarios in %s' % src)

    run1, run2, jobs = [], [], []
    for scen, cfgpath, scendir in entries:
        dest = os.path.join(work, scen)
        if scendir:
            shutil.copytree(scendir, dest)
            for folder, _, files in os.walk(dest):
                for fname in files:
                    if fname.endswith('.json'):
                        fpath = os.path.join(folder, fname)
                        with open(fpath, encoding='utf-8') as f:
                            served = f.read()
                        if '@HTTP@' in served:
                            with open(fpath, 'w', encoding='utf-8') as f:
                                f.write(served.replace('@HTTP@', '%s/%s' % (http_base, scen)))
            if os.path.isdir(os.path.join(scendir, 'root')):
                shutil.copytree(os.path.join(scendir, 'root'), work, dirs_exist_ok=True)
        else:
            os.makedirs(dest)
        with open(cfgpath, encoding='utf-8') as f:
            text = f.read().replace('@HTTP@', '%s/%s' % (http_base, scen))
            text = text.replace('@HTTPS@', '%s/%s' % (https_base, scen))
            text = text.replace('@HTTPS_PORT@', https_base.rsplit(':', 1)[1])
            # Docker's client drops the path of an http:// host; tcp:// keeps it.
            text = text.replace('@TCP@', 'tcp://%s/%s' % (http_base.split('://', 1)[1], scen))
            text = text.replace('@ZOOKEEPER@', zookeeper)
        if scendir and os.path.isfile(os.path.join(scendir, 'znodes.json')):
            with open(os.path.join(scendir, 'znodes.json'), encoding='utf-8') as f:
                for path, data in json.load(f).items():
                    if path in znodes and znodes[path] != data:
                        sys.exit('%s: znode %s differs from another scenario\'s' % (scendir, path))
                    znodes[path] = data
        cfg = yaml.safe_load(text) or {}
        extra = set(cfg) - {'global', 'scrape_configs'}
        if extra:
            sys.exit('%s: only global and scrape_configs are supported (got %s)' % (cfgpath, sorted(extra)))
        glob = cfg.get('global') or {}
        extra = set(glob) - {'scrape_interval', 'scrape_timeout'}
        if extra:
            sys.exit('%s: global supports only scrape_interval/scrape_timeout' % cfgpath)
        g_int = glob.get('scrape_interval', '1m')
        g_to = glob.get('scrape_timeout', '10s')
        flags = header_flags(cfgpath)
        out_jobs = []
        for job in cfg.get('scrape_configs') or []:
            job = dict(job)
            orig = job['job_name']
            job['job_name'] = '%s/%s' % (scen, orig)
            if glob:
                # Prometheus's defaulting (config.go): the job inherits the
                # global interval; the global timeout is capped at the interval.
                if not job.get('scrape_interval'):
                    job['scrape_interval'] = g_int
                if not job.get('scrape_timeout'):
                    if duration_ms(g_to) > duration_ms(job['scrape_interval']):
                        job['scrape_timeout'] = job['scrape_interval']
                    else:
                        job['scrape_timeout'] = g_to
            fsd = []
            for sd in job.get('file_sd_configs') or []:
                sd = dict(sd)
                sd['files'] = [f if f.startswith('/') else '%s/%s' % (scen, f) for f in sd['files']]
                fsd.append(sd)
            if fsd:
                job['file_sd_configs'] = fsd
            jflags = list(flags)
            if job.get('http_sd_configs'):
                jflags.append('http')
            jobs.append((job['job_name'], scen, ','.join(jflags) or '-'))
            out_jobs.append(job)
            dropall = dict(job)
            dropall['relabel_configs'] = [{'action': 'drop'}]
            # 2.42 does not say which pool a dropped target belongs to: mark
            # the discovered labels of run 2 (params are set unconditionally);
            # compare.py removes the marker again.
            params = dict(dropall.get('params') or {})
            params[POOL_PARAM] = [job['job_name']]
            dropall['params'] = params
            run2.append(dropall)
        run1.extend(out_jobs)
        with open(os.path.join(work, scen + '.yml'), 'w', encoding='utf-8') as f:
            yaml.dump({'scrape_configs': out_jobs}, f, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True)

    for fname, js in (('run1.yml', run1), ('run2.yml', run2)):
        with open(os.path.join(work, fname), 'w', encoding='utf-8') as f:
            yaml.dump({'scrape_configs': js}, f, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True)
    with open(os.path.join(work, 'jobs.tsv'), 'w', encoding='utf-8') as f:
        for j in jobs:
            f.write('\t'.join(j) + '\n')
    if znodes:
        with open(os.path.join(work, 'znodes.json'), 'w', encoding='utf-8') as f:
            json.dump(znodes, f, indent=1, sort_keys=True)
    with open(os.path.join(work, 'scenarios.txt'), 'w', encoding='utf-8') as f:
        for scen, _, _ in entries:
            f.write(scen + '\n')


if __name__ == '__main__':
    main()
