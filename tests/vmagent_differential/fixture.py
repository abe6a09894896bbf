#!/usr/bin/env python3
"""Loopback fixture: a Kubernetes API server and a Consul agent serving the
objects of one scenario file, for sdscope and vmagent to discover alike.

Usage: fixture.py SCENARIO.json PORT

SCENARIO.json:
  {"kubernetes": {"pods": [...], "services": [...], "endpoints": [...],
                  "endpointslices": [...], "nodes": [...], "ingresses": [...]},
   "consul": {"datacenter": "dc1",
              "services": {"<name>": [<health entry>, ...]}}}

Kubernetes: LIST answers every object of the collection (filtered by the
namespace in the path), resourceVersion "100"; WATCH holds the stream open
(a BOOKMARK every 5 s) until timeoutSeconds or the client leaves; /version
says v1.26.2. Consul: /v1/agent/self, /v1/catalog/services (tags of every
service), /v1/health/service/<name>; with ?index= equal to the current
index (1) a request blocks for its wait (at most 10 s), as a real agent does.
"""
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCENARIO = {}
KINDS = {
    # collection: (api prefix, kind, apiVersion, namespaced)
    "pods": ("/api/v1", "Pod", "v1", True),
    "services": ("/api/v1", "Service", "v1", True),
    "endpoints": ("/api/v1", "Endpoints", "v1", True),
    "nodes": ("/api/v1", "Node", "v1", False),
    "endpointslices": ("/apis/discovery.k8s.io/v1", "EndpointSlice", "discovery.k8s.io/v1", True),
    "ingresses": ("/apis/networking.k8s.io/v1", "Ingress", "networking.k8s.io/v1", True),
}


def parse_k8s_path(path):
    """(collection, namespace or None) for a collection URL, else None."""
    for collection, (prefix, _, _, namespaced) in KINDS.items():
        if not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) + 1:].split("/")
        if rest == [collection]:
            return collection, None
        if namespaced and len(rest) == 3 and rest[0] == "namespaces" and rest[2] == collection:
            return collection, rest[1]
    return None


LIST_CACHE = {}
LIST_LOCK = threading.Lock()


def list_body(collection, namespace):
    """The LIST answer, encoded once: the objects never change."""
    with LIST_LOCK:
        key = (collection, namespace)
        if key not in LIST_CACHE:
            items = [o for o in SCENARIO.get("kubernetes", {}).get(collection, [])
                     if namespace is None or o.get("metadata", {}).get("namespace") == namespace]
            _, kind, api_version, _ = KINDS[collection]
            LIST_CACHE[key] = json.dumps({"kind": kind + "List", "apiVersion": api_version,
                                          "metadata": {"resourceVersion": "100"}, "items": items}).encode()
        return LIST_CACHE[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; the test prints its own story
        pass

    def send_json(self, body, status=200, headers=None):
        self.send_bytes(json.dumps(body).encode(), status, headers)

    def send_bytes(self, data, status=200, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/version":
            return self.send_json({"major": "1", "minor": "26", "gitVersion": "v1.26.2"})
        if url.path.startswith("/v1/"):
            return self.consul(url.path, query)
        target = parse_k8s_path(url.path)
        if target is None:
            return self.send_json({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                   "message": "not found", "reason": "NotFound", "code": 404}, 404)
        collection, namespace = target
        if query.get("watch", [""])[0] in ("true", "1"):
            return self.watch(collection, query)
        self.send_bytes(list_body(collection, namespace))

    def watch(self, collection, query):
        _, kind, api_version, _ = KINDS[collection]
        timeout = min(float(query.get("timeoutSeconds", ["60"])[0]), 60)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.time() + timeout
        try:
            while time.time() < end:
                event = {"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version,
                                                        "metadata": {"resourceVersion": "100"}}}
                line = (json.dumps(event) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                time.sleep(5)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def consul(self, path, query):
        consul = SCENARIO.get("consul", {})
        services = consul.get("services", {})
        index = "1"
        if query.get("index", [""])[0] == index:
            wait = query.get("wait", ["10s"])[0]
            seconds = float(wait[:-1]) if wait.endswith("s") else 10
            time.sleep(min(seconds, 10))
        headers = {"X-Consul-Index": index, "X-Consul-Knownleader": "true", "X-Consul-Lastcontact": "0"}
        if path == "/v1/agent/self":
            return self.send_json({"Config": {"Datacenter": consul.get("datacenter", "dc1"),
                                              "NodeName": "agent"}}, headers=headers)
        if path == "/v1/catalog/services":
            tags = {}
            for name, entries in services.items():
                tags[name] = sorted({t for e in entries for t in (e.get("Service", {}).get("Tags") or [])})
            return self.send_json(tags, headers=headers)
        if path.startswith("/v1/health/service/"):
            name = urllib.parse.unquote(path[len("/v1/health/service/"):])
            wanted = query.get("tag", [])  # an instance must have every requested tag
            entries = [e for e in services.get(name, [])
                       if all(t in (e.get("Service", {}).get("Tags") or []) for t in wanted)]
            return self.send_json(entries, headers=headers)
        self.send_json({"error": "not found"}, 404)


def main():
    global SCENARIO
    with open(sys.argv[1]) as f:
        SCENARIO = json.load(f)
    for collection in SCENARIO.get("kubernetes", {}):
        list_body(collection, None)  # encoded before anyone asks, so no client pays for it
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
