#!/usr/bin/env python3
"""Create znodes in a ZooKeeper server, for the serverset/nerve scenarios.

Usage: znodes.py PORT ZNODES_JSON [DEADLINE_SECONDS]

ZNODES_JSON maps znode paths to their data (strings). Parents are created
first, missing ones with empty data. Waits (up to DEADLINE_SECONDS, default
60) for the server on 127.0.0.1:PORT to accept a session, since a JVM takes
a while to start. Speaks the ZooKeeper wire protocol directly (connect,
create, closeSession), so no client library is needed.
"""
import json
import socket
import struct
import sys
import time

OP_CREATE = 1
OP_CLOSE = -11
ERR_NODE_EXISTS = -110
PERMS_ALL = 31


def frame(payload):
    return struct.pack('>i', len(payload)) + payload


def ustring(text):
    raw = text.encode('utf-8')
    return struct.pack('>i', len(raw)) + raw


def buffer(raw):
    return struct.pack('>i', len(raw)) + raw


def read_exact(sock, n):
    out = b''
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError('ZooKeeper closed the connection')
        out += chunk
    return out


def read_frame(sock):
    (n,) = struct.unpack('>i', read_exact(sock, 4))
    return read_exact(sock, n)


def connect(port, deadline):
    while True:
        try:
            sock = socket.create_connection(('127.0.0.1', port), timeout=5)
            # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly
            sock.sendall(frame(struct.pack('>iqiq', 0, 0, 10000, 0) + buffer(b'\0' * 16) + b'\0'))
            read_frame(sock)
            return sock
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


class Session:
    def __init__(self, sock):
        self.sock = sock
        self.xid = 0

    def request(self, op, body):
        self.xid += 1
        self.sock.sendall(frame(struct.pack('>ii', self.xid, op) + body))
        reply = read_frame(self.sock)
        _xid, _zxid, err = struct.unpack('>iqi', reply[:16])
        return err

    def create(self, path, data):
        acl = struct.pack('>ii', 1, PERMS_ALL) + ustring('world') + ustring('anyone')
        return self.request(OP_CREATE, ustring(path) + buffer(data.encode('utf-8')) + acl + struct.pack('>i', 0))


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], encoding='utf-8') as f:
        znodes = json.load(f)
    deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 60)
    session = Session(connect(port, deadline))
    created = set()
    for path in sorted(znodes):
        parts = path.strip('/').split('/')
        for i in range(1, len(parts)):
            parent = '/' + '/'.join(parts[:i])
            if parent not in created and parent not in znodes:
                err = session.create(parent, '')
                if err not in (0, ERR_NODE_EXISTS):
                    sys.exit('create %s: ZooKeeper error %d' % (parent, err))
                created.add(parent)
        err = session.create(path, znodes[path])
        if err != 0:
            sys.exit('create %s: ZooKeeper error %d' % (path, err))
        created.add(path)
    session.request(OP_CLOSE, b'')


if __name__ == '__main__':
    main()
