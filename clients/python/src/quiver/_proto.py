"""Just enough protobuf to speak Flight SQL's prepared statements through pyarrow.flight.

pyarrow has a Flight client but no Flight SQL client, and the few Flight SQL
messages the package needs are flat: strings, bytes and booleans. Encoding them
by hand keeps ``protobuf`` out of the dependencies. Every Flight SQL command
travels as a ``google.protobuf.Any`` (type URL + serialized message); the
standard ``CancelFlightInfo`` action body is a bare message.
"""

from __future__ import annotations

from collections.abc import Iterator

_SQL = "type.googleapis.com/arrow.flight.protocol.sql."

# Field numbers of the Flight SQL messages used here (FlightSql.proto).
CREATE_PREPARED_REQUEST = _SQL + "ActionCreatePreparedStatementRequest"  # query = 1
CREATE_PREPARED_RESULT = _SQL + "ActionCreatePreparedStatementResult"  # handle = 1, schema = 2, params = 3
CLOSE_PREPARED_REQUEST = _SQL + "ActionClosePreparedStatementRequest"  # handle = 1
PREPARED_QUERY = _SQL + "CommandPreparedStatementQuery"  # handle = 1
GET_TABLES = _SQL + "CommandGetTables"  # catalog = 1, schema = 2, table = 3, types = 4, include_schema = 5

_VARINT = 0
_LEN = 2


def varint(value: int) -> bytes:
    """Encode a non-negative integer as a protobuf varint."""
    if value < 0:
        raise ValueError("varint of a negative number")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number: int, value: bytes) -> bytes:
    """Encode a length-delimited field (string, bytes or message)."""
    return varint(number << 3 | _LEN) + varint(len(value)) + value


def field_bool(number: int, value: bool) -> bytes:
    """Encode a bool field (omitted when false, as proto3 does)."""
    return varint(number << 3 | _VARINT) + b"\x01" if value else b""


def pack_any(type_url: str, message: bytes) -> bytes:
    """Wrap a serialized message in a ``google.protobuf.Any``."""
    return field_bytes(1, type_url.encode()) + field_bytes(2, message)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield ``(field number, value)`` for each field of a serialized message.

    Varints come back as ``int``, length-delimited fields as ``bytes``; 32- and
    64-bit fixed fields as ``bytes`` of their width.
    """
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(data, pos)
            yield number, value
        elif wire == _LEN:
            size, pos = _read_varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated field")
            yield number, data[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            yield number, data[pos : pos + width]
            pos += width
        else:
            raise ValueError(f"unsupported wire type {wire}")


def unpack_any(data: bytes, type_url: str) -> bytes:
    """Return the message inside an ``Any``, checking its type URL."""
    url = b""
    value = b""
    for number, field in fields(data):
        if number == 1 and isinstance(field, bytes):
            url = field
        elif number == 2 and isinstance(field, bytes):
            value = field
    if url.decode(errors="replace") != type_url:
        raise ValueError(f"expected {type_url}, got {url.decode(errors='replace')!r}")
    return value


def bytes_fields(message: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a flat message, by number (last wins)."""
    return {n: v for n, v in fields(message) if isinstance(v, bytes)}


def create_prepared_request(query: str) -> bytes:
    """``ActionCreatePreparedStatementRequest{query}`` as an ``Any``."""
    return pack_any(CREATE_PREPARED_REQUEST, field_bytes(1, query.encode("utf-8")))


def close_prepared_request(handle: bytes) -> bytes:
    """``ActionClosePreparedStatementRequest{handle}`` as an ``Any``."""
    return pack_any(CLOSE_PREPARED_REQUEST, field_bytes(1, handle))


def prepared_query(handle: bytes) -> bytes:
    """``CommandPreparedStatementQuery{handle}`` as an ``Any`` (a descriptor command)."""
    return pack_any(PREPARED_QUERY, field_bytes(1, handle))


def get_tables(
    schema_pattern: str | None = None,
    table_pattern: str | None = None,
    table_types: list[str] | None = None,
    catalog: str | None = None,
) -> bytes:
    """``CommandGetTables`` with the table schemas included, as an ``Any``."""
    body = b""
    if catalog is not None:
        body += field_bytes(1, catalog.encode())
    if schema_pattern is not None:
        body += field_bytes(2, schema_pattern.encode())
    if table_pattern is not None:
        body += field_bytes(3, table_pattern.encode())
    for table_type in table_types or []:
        body += field_bytes(4, table_type.encode())
    body += field_bool(5, True)
    return pack_any(GET_TABLES, body)


def cancel_flight_info_request(serialized_info: bytes) -> bytes:
    """``CancelFlightInfoRequest{info}``: the body of the standard ``CancelFlightInfo`` action."""
    return field_bytes(1, serialized_info)


def cancel_status(result: bytes) -> int:
    """The ``CancelStatus`` of a ``CancelFlightInfoResult`` (0 when absent)."""
    for number, value in fields(result):
        if number == 1 and isinstance(value, int):
            return value
    return 0
