#!/usr/bin/env python3
"""Compares sdscope's and vmagent's active targets, job by job.

Usage: compare.py --wait VMAGENT_TARGETS_URL DIR

DIR holds prometheus.yml, sdscope.json and sdscope.rc; vmagent's answer is
polled from the URL (until every job has targets and two answers a second
apart agree, at most 30 s) and saved as DIR/vmagent.json.

Per job, the targets must be the same set of (scrape URL, labels), and each
target's discovered labels (__address__ and __meta_*) must be equal.

Where vmagent 1.79 and Prometheus v2.45 differ, sdscope follows v2.45 and
the comparison normalises vmagent's side:
- vmagent keeps labels whose value is empty; Prometheus drops them when it
  builds a target (labels.Builder.Set with "" deletes), so they are ignored.
- labels only one of them has (IGNORED below) are left out on both sides;
  unit tests check them against the spec.
- kubernetes roles endpoints and endpointslice (see k8s_join_differences):
  vmagent adds the service's cluster IP and type to their targets, while
  v2.45 joins only the service's group labels (name, labels, annotations);
  and vmagent leaves the Endpoints/EndpointSlice object's own labels off the
  extra targets made from unmatched container ports, which in v2.45 are
  group labels and so on every target of the group.
"""
import json
import re
import sys
import time
import urllib.request

IGNORED = re.compile("|".join([
    # v2.45 labels vmagent 1.79 does not know
    r"__meta_consul_partition",
    r"__meta_kubernetes_pod_container_(id|image)",
    r"__meta_kubernetes_service_(port_number|loadbalancer_ip)",
    r"__meta_kubernetes_endpointslice_endpoint_conditions_(serving|terminating)",
    r"__meta_kubernetes_endpointslice_endpoint_topology_.*",  # vmagent reads no deprecatedTopology
    # vmagent 1.79 labels v2.45 does not have (v2.46 added them)
    r"__meta_kubernetes_endpointslice_(label|labelpresent)_.*",
]))

SLICE_TARGET = ("__meta_kubernetes_endpointslice_port", "__meta_kubernetes_endpointslice_endpoint_",
                "__meta_kubernetes_endpointslice_address_target_")


def k8s_join_differences(d):
    """Drops, on both sides, the labels where the two differ by design for
    the endpoints and endpointslice roles (see the module doc)."""
    if any(k.startswith(("__meta_kubernetes_pod_", "__meta_kubernetes_endpoint")) for k in d):
        d.pop("__meta_kubernetes_service_cluster_ip", None)
        d.pop("__meta_kubernetes_service_type", None)
    endpoint_target = any(k.startswith("__meta_kubernetes_endpoint_") or k.startswith(SLICE_TARGET) for k in d)
    if not endpoint_target:
        for k in [k for k in d if k.startswith("__meta_kubernetes_endpoints_")
                  or k in ("__meta_kubernetes_endpointslice_name", "__meta_kubernetes_endpointslice_address_type")]:
            del d[k]
    return d


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["activeTargets"]


def jobs_of(config_path):
    jobs = []
    with open(config_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("- job_name:"):
                jobs.append(line.split(":", 1)[1].strip())
    return jobs


def wait_for_vmagent(url, jobs):
    previous, deadline = None, time.time() + 30
    while time.time() < deadline:
        try:
            current = fetch(url)
        except Exception:
            current = None
        if current is not None and {t["scrapePool"] for t in current} >= set(jobs):
            comparable = sorted(json.dumps(normalise(t), sort_keys=True) for t in current)
            if comparable == previous:
                return current
            previous = comparable
        time.sleep(1)
    return current or []


def clean(labels, keep):
    return {k: v for k, v in labels.items() if v != "" and not IGNORED.fullmatch(k) and keep(k)}


def normalise(t):
    return {
        "job": t["scrapePool"],
        "url": t["scrapeUrl"],
        "labels": clean(t["labels"], lambda k: not k.startswith("__")),
        "discovered": k8s_join_differences(
            clean(t["discoveredLabels"], lambda k: k == "__address__" or k.startswith("__meta_"))),
    }


def by_job(targets):
    out = {}
    for t in map(normalise, targets):
        key = (t["url"], json.dumps(t["labels"], sort_keys=True))
        out.setdefault(t["job"], {}).setdefault(key, []).append(t["discovered"])
    return out


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "--wait":
        print(__doc__, file=sys.stderr)
        return 2
    url, work = sys.argv[2], sys.argv[3]
    name = work.rstrip("/").split("/")[-1]
    jobs = jobs_of(work + "/prometheus.yml")
    vm_targets = wait_for_vmagent(url, jobs)
    with open(work + "/vmagent.json", "w") as f:
        json.dump(vm_targets, f, indent=1)
    rc = open(work + "/sdscope.rc").read().strip()
    if rc != "0":
        print(f"FAIL {name}: sdscope exited {rc}: {open(work + '/sdscope.err').read()[:2000]}")
        return 1
    sd = by_job(json.load(open(work + "/sdscope.json"))["activeTargets"])
    vm = by_job(vm_targets)
    failed = False
    for job in jobs:
        s, v = sd.get(job, {}), vm.get(job, {})
        problems = []
        for key in sorted(set(s) | set(v)):
            if key not in v:
                problems.append(f"  only sdscope: {key[0]} {key[1]}")
            elif key not in s:
                problems.append(f"  only vmagent: {key[0]} {key[1]}")
            else:
                sd_disc = sorted(json.dumps(d, sort_keys=True) for d in s[key])
                vm_disc = sorted(json.dumps(d, sort_keys=True) for d in v[key])
                if sd_disc != vm_disc:
                    problems.append(f"  discovered labels of {key[0]} differ:\n    sdscope: {sd_disc}\n    vmagent: {vm_disc}")
        if not s and not v:
            problems.append("  no targets on either side (the scenario should discover some)")
        if problems:
            failed = True
            print(f"FAIL {name}/{job}:")
            print("\n".join(problems))
        else:
            print(f"ok   {name}/{job} ({sum(len(x) for x in s.values())} targets)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
