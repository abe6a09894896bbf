#!/usr/bin/env python3
"""Writes a fixture scenario (tests/vmagent_differential/fixture.py) for
bench/kubernetes: PODS pods of 3 containers with 2 ports each, spread over
10 namespaces and 50 nodes, and SERVICES services, each with an Endpoints
object naming the 5 pods behind it. Every address is in 127.0.0.0/8.

Usage: gen_k8s_fixture.py PODS SERVICES > scenario.json
"""
import json
import sys


def ip(n):
    return f"127.{10 + n // 65536 % 200}.{n // 256 % 256}.{n % 256}"


def main():
    pods_n, services_n = int(sys.argv[1]), int(sys.argv[2])
    pods, services, endpoints = [], [], []
    for i in range(pods_n):
        ns = f"ns{i % 10}"
        pods.append({
            "metadata": {"name": f"pod-{i}", "namespace": ns, "uid": f"uid-{i}", "resourceVersion": str(i + 1),
                         "labels": {"app": f"app-{i // 5}", "pod-template-hash": "7d9f"},
                         "annotations": {"prometheus.io/scrape": "true"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": f"app-{i // 5}-7d9f",
                                              "uid": f"rs-{i // 5}", "controller": True}]},
            "spec": {"nodeName": f"node-{i % 50}",
                     "containers": [{"name": f"c{c}", "image": f"img-{c}:1",
                                     "ports": [{"name": f"p{c}{p}", "containerPort": 8000 + 10 * c + p,
                                                "protocol": "TCP"} for p in range(2)]} for c in range(3)]},
            "status": {"phase": "Running", "podIP": ip(i), "hostIP": f"127.1.0.{i % 50}",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": f"c{c}", "containerID": f"containerd://{i}-{c}"}
                                             for c in range(3)]}})
    for s in range(services_n):
        ns = f"ns{s % 10}"
        members = [p for p in range(s * 5, s * 5 + 5) if p < pods_n]
        services.append({
            "metadata": {"name": f"svc-{s}", "namespace": ns, "resourceVersion": str(pods_n + s + 1),
                         "labels": {"app": f"app-{s}"}},
            "spec": {"type": "ClusterIP", "clusterIP": f"127.2.{s // 256}.{s % 256}",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
        endpoints.append({
            "metadata": {"name": f"svc-{s}", "namespace": ns, "resourceVersion": str(pods_n + services_n + s + 1),
                         "labels": {"app": f"app-{s}"}},
            "subsets": [{"addresses": [{"ip": ip(p), "nodeName": f"node-{p % 50}",
                                        "targetRef": {"kind": "Pod", "namespace": f"ns{p % 10}", "name": f"pod-{p}"}}
                                       for p in members],
                         "ports": [{"name": "http", "port": 8000, "protocol": "TCP"}]}]})
    json.dump({"kubernetes": {"pods": pods, "services": services, "endpoints": endpoints}}, sys.stdout)


if __name__ == "__main__":
    main()
