#!/usr/bin/env python3
"""The loopback API fixture of the targets differential test.

Serves the work directory over HTTP on PORT and over HTTPS on TLS_PORT (the
certificate fixture-cert.pem/fixture-key.pem in the work directory, for
127.0.0.1; a config trusts it with `tls_config: {ca_file: fixture-cert.pem}`).

A request's path (query ignored) names a file under the work directory; a
directory answers with its index.html, or its index.json when it has no
index.html (for APIs that insist on a JSON content type). GET, HEAD and POST all answer from the
file, so a scenario stores each API response as a file. Three rules answer a
POST by what it asks, each from a file in the requested directory PATH when
that file exists:
- XML-RPC: a body calling method M is answered from PATH/M.xml;
- AWS Query APIs (EC2, STS, ...): a form body with Action=A is answered from
  PATH/A.<T>.xml when it also has NextToken=T (the next page), else PATH/A.xml;
- AWS JSON APIs (Lightsail, ECS, ...): a header X-Amz-Target: <prefix>.O is
  answered from PATH/O.json.
Signatures are not checked (the unit tests do that). Content types follow
the file extension (.json is application/json, .xml is text/xml). A file F
may have a sidecar F.headers: its "Name: value" lines are added to the
response, and a "Status: NNN" line sets the status code (e.g. Keystone's 201
with the token in X-Subject-Token).

Usage: fixture.py WORKDIR PORT TLS_PORT
"""
import http.server
import os
import re
import ssl
import sys
import threading
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = dict(http.server.SimpleHTTPRequestHandler.extensions_map,
                          **{'.json': 'application/json', '.xml': 'text/xml'})

    def translate_path(self, path):
        real = super().translate_path(path)
        for name in (getattr(self, 'answer_files', []) if self.command == 'POST' else []):
            if os.path.isfile(os.path.join(real, name)):
                return os.path.join(real, name)
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
        self.answer_files = []
        m = re.search(r'<methodName>\s*([^<\s]+)\s*</methodName>', body)
        if m:
            self.answer_files.append(m.group(1) + '.xml')
        if (self.headers.get('Content-Type') or '').startswith('application/x-www-form-urlencoded'):
            form = urllib.parse.parse_qs(body)
            if 'Action' in form:
                if 'NextToken' in form:
                    self.answer_files.append('%s.%s.xml' % (form['Action'][0], form['NextToken'][0]))
                self.answer_files.append(form['Action'][0] + '.xml')
        target = self.headers.get('X-Amz-Target')
        if target:
            self.answer_files.append(target.rsplit('.', 1)[-1] + '.json')
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
