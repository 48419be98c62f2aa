#!/usr/bin/env python3
"""GETs one URL N times over one keep-alive connection, as wrk would, and checks each answer is
200. For bench/origin_instructions.sh: a client small and steady enough that callgrind's count
of the server's instructions, divided by N, is a repeatable cost per request.

    bench/keepalive_get.py http://127.0.0.1:8080/channels/demo/360p/ts.m3u8 20000
"""
import socket
import sys
from urllib.parse import urlsplit


def read_response(sock, buffer):
    """Reads one response (headers and a Content-Length body); returns (status, rest)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection mid-body")
        buffer += chunk
    return status, buffer[length:]


def main():
    url = urlsplit(sys.argv[1])
    count = int(sys.argv[2])
    request = (
        f"GET {url.path}{'?' + url.query if url.query else ''} HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((url.hostname, url.port or 80))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    for _ in range(count):
        sock.sendall(request)
        status, buffer = read_response(sock, buffer)
        if status != 200:
            raise SystemExit(f"{url.path} answered {status}")
    sock.close()


if __name__ == "__main__":
    main()
