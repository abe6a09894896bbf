#!/usr/bin/env python3
"""Loopback http_sd fixture for the watch scenarios.

GET /sd/NAME answers with the file NAME.json of the serving directory (read
again on every request, so a test changes targets by rewriting it) and
appends "NAME<TAB>query" to requests.log, so a test can count requests per
provider. Binds 127.0.0.1 on a free port and writes the port to port.txt.
"""
import http.server
import os
import sys
import urllib.parse

directory = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        name = url.path.rsplit("/", 1)[-1]
        with open(os.path.join(directory, "requests.log"), "a") as log:
            log.write(f"{name}\t{url.query}\n")
        try:
            with open(os.path.join(directory, name + ".json"), "rb") as f:
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
