#!/usr/bin/env python3
"""The loopback API fixture of the targets differential test.

Serves the work directory over HTTP on PORT and over HTTPS on TLS_PORT (the
certificate fixture-cert.pem/fixture-key.pem in the work directory, for
127.0.0.1; a config trusts it with `tls_config: {ca_file: fixture-cert.pem}`).

A request's path (query ignored) names a file under the work directory; a
directory answers with its index.html, or its index.json when it has no
index.html (for APIs that insist on a JSON content type). GET, HEAD and POST all answer from the
file, so a scenario stores each API response as a file. One rule for
XML-RPC: a POST whose body calls method M is answered from PATH/M.xml when
that file exists. Content types follow the file extension (.json is
application/json, .xml is text/xml). A file F may have a sidecar
F.headers: its "Name: value" lines are added to the response, and a
"Status: NNN" line sets the status code (e.g. Keystone's 201 with the token
in X-Subject-Token).

Usage: fixture.py WORKDIR PORT TLS_PORT
"""
import http.server
import os
import re
import ssl
import sys
import threading


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = dict(http.server.SimpleHTTPRequestHandler.extensions_map,
                          **{'.json': 'application/json', '.xml': 'text/xml'})

    def translate_path(self, path):
        real = super().translate_path(path)
        method = getattr(self, 'xmlrpc_method', None)
        if method and os.path.isfile(os.path.join(real, method + '.xml')):
            return os.path.join(real, method + '.xml')
        if (os.path.isdir(real) and not os.path.exists(os.path.join(real, 'index.html'))
                and os.path.isfile(os.path.join(real, 'index.json'))):
            return os.path.join(real, 'index.json')
        return real

    def send_head(self):
        # A directory without a trailing slash is served, not redirected
        # (API clients ask for /v1.24/containers/json, not .../json/).
        real = self.translate_path(self.path)
        if os.path.isdir(real) and not self.path.split('?')[0].endswith('/'):
            self.path = self.path.split('?')[0] + '/'
        return super().send_head()

    def send_response(self, code, message=None):
        # Only the answer for a served file (a 200) gets the sidecar's status.
        real = self.translate_path(self.path)
        extra = []
        if code == 200 and os.path.isfile(real + '.headers'):
            with open(real + '.headers', encoding='utf-8') as f:
                for line in f:
                    name, sep, value = line.strip().partition(':')
                    if not sep:
                        continue
                    if name.strip().lower() == 'status':
                        code = int(value.strip())
                    else:
                        extra.append((name.strip(), value.strip()))
        super().send_response(code, message)
        for name, value in extra:
            self.send_header(name, value)

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8', 'replace')
        m = re.search(r'<methodName>\s*([^<\s]+)\s*</methodName>', body)
        self.xmlrpc_method = m.group(1) if m else None
        self.do_GET()

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.command, fmt % args))


def main():
    work, port, tls_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.chdir(work)
    plain = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    secure = http.server.ThreadingHTTPServer(('127.0.0.1', tls_port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain('fixture-cert.pem', 'fixture-key.pem')
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    plain.serve_forever()


if __name__ == '__main__':
    main()
