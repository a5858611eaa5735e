#!/usr/bin/env python3
"""A Strata client written from docs/wire-protocol.md alone: plain Python, no Strata code, no
protobuf library. Used by the test suite to prove the framing description is complete.

    wire_client.py HOST:PORT            GetServiceInfo, print the answer as key=value lines
    wire_client.py HOST:PORT --garbage  send garbage first and check only that connection closes
"""
import socket
import struct
import sys
import zlib

MAGIC = 0x53545241
HEADER = struct.Struct(">IBBBBQIIII")  # the 32 bytes covered by the checksum
REQUEST, RESPONSE, STREAM_ITEM, STREAM_END = 1, 2, 3, 4


def frame(kind, call_id, method, argument=0, body=b"", payload=b""):
    header = HEADER.pack(MAGIC, 1, kind, 0, 0, call_id, method, argument, len(body), len(payload))
    crc = zlib.crc32(payload, zlib.crc32(body, zlib.crc32(header)))
    return header + struct.pack(">I", crc) + body + payload


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(data), count))
        data += chunk
    return data


def read_frame(sock):
    header = read_exactly(sock, 36)
    magic, version, kind, status, flags, call_id, method, argument, body_len, payload_len = HEADER.unpack(header[:32])
    (crc,) = struct.unpack(">I", header[32:])
    assert magic == MAGIC and version == 1 and flags == 0, "bad header %r" % header
    body = read_exactly(sock, body_len)
    payload = read_exactly(sock, payload_len)
    assert zlib.crc32(payload, zlib.crc32(body, zlib.crc32(header[:32]))) == crc, "checksum mismatch"
    return kind, status, call_id, method, body, payload


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def protobuf_fields(data):
    """Field number -> list of values (ints for varints, bytes for length-delimited)."""
    fields, at = {}, 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, at = varint(data, at)
        elif wire_type == 2:
            length, at = varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise ValueError("unexpected wire type %d" % wire_type)
        fields.setdefault(number, []).append(value)
    return fields


def get_service_info(address):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(frame(REQUEST, call_id=1, method=0x00010001, argument=5000))
        kind, status, call_id, method, body, _ = read_frame(sock)
        assert (kind, status, call_id, method) == (RESPONSE, 0, 1, 0x00010001), (kind, status, call_id, method)
        fields = protobuf_fields(body)
        # ServiceInfo: kind=1, version=2, node_id=4, serving=8, ports=10 (NamedPort: name=1, port=2)
        ports = [protobuf_fields(p) for p in fields.get(10, [])]
        return {
            "kind": fields.get(1, [0])[0],
            "version": fields[2][0].decode(),
            "node_id": fields[4][0].decode(),
            "serving": bool(fields.get(8, [0])[0]),
            "ports": ",".join("%s:%d" % (p[1][0].decode(), p[2][0]) for p in ports),
        }


def garbage_closes_connection(address):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert sock.recv(1) == b"", "server answered garbage instead of closing"


if __name__ == "__main__":
    target = sys.argv[1]
    if "--garbage" in sys.argv:
        garbage_closes_connection(target)
        print("garbage connection closed")
    for key, value in get_service_info(target).items():
        print("%s=%s" % (key, value))
