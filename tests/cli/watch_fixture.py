#!/usr/bin/env python3
"""Loopback http_sd fixture for the watch scenarios.

GET /sd/NAME answers with the file NAME.json of the serving directory (read
again on every request, so a test changes targets by rewriting it) and
appends "NAME<TAB>query" to requests.log, so a test can count requests per
provider. Binds 127.0.0.1 on a free port and writes the port to port.txt.

Faults, for the CLI fault scenarios (the unit tests' fault_server.h has them
all): while NAME.status exists, the answer is that HTTP status (its first
line) with the body "fault injected"; while NAME.hang exists, the request
gets no answer until the client leaves or the file goes.
"""
import http.server
import os
import select
import sys
import time
import urllib.parse

directory = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        name = url.path.rsplit("/", 1)[-1]
        with open(os.path.join(directory, "requests.log"), "a") as log:
            log.write(f"{name}\t{url.query}\n")
        base = os.path.join(directory, name)
        while os.path.exists(base + ".hang"):
            time.sleep(0.05)
            if select.select([self.connection], [], [], 0)[0]:
                return  # readable on a request we never answer: the client left
        try:
            with open(base + ".status") as f:
                code = int(f.readline())
        except OSError:
            code = None
        if code is not None:
            body = b"fault injected\n"
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        try:
            with open(base + ".json", "rb") as f:
                body = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(directory, "port.txt.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(directory, "port.txt.tmp"), os.path.join(directory, "port.txt"))
server.serve_forever()
