"""Read ``COPY ... TO STDOUT`` output with libpq directly (``psycopg.pq``).

psycopg's ``Copy`` hands out one row per call through its generic wait machinery,
a few microseconds of Python per row; on exports of a million rows that is seconds.
Here every row libpq already holds is taken in one tight loop and the rows are
joined into blocks. The connection's lock keeps Django's queries from other
threads off the connection meanwhile.
"""

from __future__ import annotations

import select
from collections.abc import Iterator

import psycopg
from psycopg import pq as libpq
from psycopg import sql

BLOCK_BYTES = 1 << 20


def copy_out(conn: psycopg.Connection, statement: sql.Composable) -> bytes:
    """Run ``COPY ... TO STDOUT`` on ``conn`` and return all its bytes."""
    return b"".join(copy_blocks(conn, statement, block_bytes=0))


def copy_blocks(
    conn: psycopg.Connection, statement: sql.Composable, block_bytes: int = BLOCK_BYTES
) -> Iterator[bytes]:
    """Run ``COPY ... TO STDOUT`` on ``conn``; yield its bytes in blocks of about
    ``block_bytes`` (0: one block). Closing the generator early cancels the COPY and
    leaves the connection usable."""
    pgconn = conn.pgconn
    with conn.lock:
        yield from _blocks(pgconn, statement.as_bytes(conn), block_bytes)


def _blocks(pgconn: libpq.PGconn, statement: bytes, block_bytes: int) -> Iterator[bytes]:
    pgconn.send_query(statement)
    _check(_result(pgconn), libpq.ExecStatus.COPY_OUT)
    data = bytearray()
    get = pgconn.get_copy_data
    try:
        while True:
            size, row = get(1)
            if size > 0:
                data += row
                if block_bytes and len(data) >= block_bytes:
                    yield bytes(data)
                    data.clear()
            elif size == 0:
                _wait(pgconn)
            else:
                break
    except BaseException:
        _abandon(pgconn)
        raise
    _check(_result(pgconn), libpq.ExecStatus.COMMAND_OK)
    if data or not block_bytes:
        yield bytes(data)


def _wait(pgconn: libpq.PGconn) -> None:
    select.select([pgconn.socket], [], [])
    pgconn.consume_input()


def _result(pgconn: libpq.PGconn) -> libpq.PGresult:
    """The statement's result; the results after it (none once COPY is done) are drained."""
    while pgconn.is_busy():
        _wait(pgconn)
    result = pgconn.get_result()
    if result is None:
        raise psycopg.OperationalError("no result from the server")
    if result.status != libpq.ExecStatus.COPY_OUT:
        while pgconn.get_result() is not None:
            pass
    return result


def _check(result: libpq.PGresult, status: libpq.ExecStatus) -> None:
    if result.status != status:
        message = (result.error_message or b"unexpected result").decode(errors="replace")
        raise psycopg.DatabaseError(message.strip())


def _abandon(pgconn: libpq.PGconn) -> None:
    """Cancel a COPY left half read and drain it, so the connection stays usable."""
    pgconn.get_cancel().cancel()
    while (size := pgconn.get_copy_data(1)[0]) >= 0:
        if size == 0:
            _wait(pgconn)
    while pgconn.get_result() is not None:
        pass
