"""Storage faults said in one line: what is wrong with the database ``DATABASE_URL`` names.

A corrupt, read-only or unreachable database is the operator's to fix, not a bug: the
process stops with one line naming the setting, the file or server, and the cause, in
the style of the configuration errors. Anything else (a bug) is not described here and
keeps its traceback.
"""

from __future__ import annotations

import errno
import os
import re
import resource
import socket
import sqlite3
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from storage.engine import DataDirectoryError

# The SQLite result codes (primary part of the extended code's name) that are the
# file's or the machine's fault rather than the program's: SQLITE_ERROR (bad SQL, no
# such table), SQLITE_CONSTRAINT and the like are bugs and are left alone.
_SQLITE_FAULTS = (
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_PERM",
    "SQLITE_NOMEM",
    "SQLITE_NOLFS",
    "SQLITE_PROTOCOL",
)
# SQLSTATE classes that are the server's or the deployment's fault: connection (08),
# authorization (28), no such database (3D), resources such as a full disk (53),
# operator intervention such as a shutdown (57), system errors such as I/O (58).
_PG_FAULT_CLASSES = ("08", "28", "3D", "53", "57", "58")
_PG_FAULT_STATES = ("25006", "42501")  # read-only transaction; permission denied
# Less free space than this when SQLite reports an I/O error means the disk is full:
# SQLite writes pages and WAL frames of a few KiB and maps its -shm file in 32 KiB.
_NEARLY_FULL = 1 << 20
_DRIVER_MODULES = ("asyncpg", "sqlalchemy", "aiosqlite")


def describe_storage_fault(
    exc: BaseException, database_url: str | URL, *, setting: str = "DATABASE_URL"
) -> str | None:
    """The one line saying what is wrong with the database, or None if ``exc`` is no storage fault.

    ``exc`` is searched with its whole chain (causes, contexts, the driver's error a
    SQLAlchemy error wraps). The line starts with ``setting``, names the file for SQLite
    and host, port and database for PostgreSQL, and never the password.
    """
    url = make_url(database_url)
    for error in _chain(exc):
        body = _describe(error, url)
        if body is not None:
            line = f"{setting}: {body}"
            if url.password:
                line = line.replace(str(url.password), "***")
            return line
    return None


def describe_demo_storage_fault(exc: BaseException) -> str | None:
    """The same for ``--demo``, whose database is a file of its own in a temporary directory.

    That directory is gone by the time this runs, and only TMPDIR says where it goes.
    """
    path = Path(tempfile.gettempdir()) / "motionwatch-demo-…" / "demo.db"
    return describe_storage_fault(exc, f"sqlite+aiosqlite:///{path}", setting="TMPDIR")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        error = todo.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)  # sqlalchemy.exc.DBAPIError: the driver's error
        for nxt in (orig, error.__cause__, error.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        if isinstance(error, BaseExceptionGroup):
            todo.extend(error.exceptions)


def _describe(error: BaseException, url: URL) -> str | None:
    if isinstance(error, DataDirectoryError):
        return f"cannot create the data directory {error.directory} ({_mkdir_reason(error)})"
    if isinstance(error, sqlite3.Error) and url.get_backend_name() == "sqlite":
        return _sqlite(error, _sqlite_path(url))
    if url.get_backend_name() != "postgresql":
        return None
    if isinstance(error, asyncpg.PostgresError):
        return _postgres(error, url)
    if isinstance(error, asyncpg.ConnectionDoesNotExistError):
        return f"lost the connection to PostgreSQL at {_server(url)} ({error})"
    # A bare OSError is the database's only when the driver raised it: Discord's and the
    # feeds' network errors are OSErrors too.
    if isinstance(error, OSError) and _raised_by_driver(error):
        return _unreachable(error, url)
    return None


# -- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    database = url.database or ""
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(os.path.abspath(database)) if database else Path(":memory:")


def _sqlite(error: sqlite3.Error, path: Path) -> str | None:
    name = str(getattr(error, "sqlite_errorname", ""))
    if not name.startswith(_SQLITE_FAULTS):
        return None
    message = str(error)
    if name == "SQLITE_NOTADB":
        return f"{path} is not a SQLite database ({message})"
    if name.startswith("SQLITE_CORRUPT"):
        return f"{path} is corrupt ({message})"
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")):
        why = _unwritable(path)
        if why is not None:
            return why
        if name.startswith("SQLITE_READONLY"):
            return f"{path} is read-only ({message})"
        return f"cannot open {path} ({message})"
    if name.startswith(("SQLITE_FULL", "SQLITE_IOERR")):
        if _nearly_full(path):
            return f"the disk is full writing {path}"
        limit = _file_size_limit(path)
        if limit is not None:
            return f"{path} reached the file size limit of {limit} bytes (ulimit -f)"
        if name == "SQLITE_FULL":
            return f"the disk is full writing {path}"
        return f"I/O error on {path} ({message}, {name})"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"{path} stayed locked by another connection ({message})"
    return f"{path}: {message} ({name})"


def _unwritable(path: Path) -> str | None:
    """Why SQLite cannot write ``path`` or create it and its -wal and -shm files, if it is so."""
    if path.is_dir():
        return f"{path} is a directory, not a database file"
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            return f"{path} is read-only ({exc.strerror})"
        why = _cannot_create_in(path.parent)
        if why is not None:
            return (
                f"{path} is in a read-only directory ({why}); SQLite creates its -wal and -shm "
                "files beside it"
            )
        return None
    directory = _existing(path.parent)
    why = _cannot_create_in(directory)
    if why is not None:
        return f"cannot create {path} ({why})"
    if directory != path.parent:
        return f"the directory {path.parent} does not exist"
    return None


def _cannot_create_in(directory: Path) -> str | None:
    try:
        handle, name = tempfile.mkstemp(prefix=".motionwatch-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(handle)
    os.unlink(name)
    return None


def _nearly_full(path: Path) -> bool:
    directory = _existing(path.parent)
    try:
        stat = os.statvfs(directory)
    except OSError:
        return False
    # Root may use the blocks reserved for it; others only the available ones.
    free = stat.f_bfree if os.geteuid() == 0 else stat.f_bavail
    return free * stat.f_frsize < _NEARLY_FULL


def _file_size_limit(path: Path) -> int | None:
    """The process's file size limit (``ulimit -f``) if one of the database's files reached it."""
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == resource.RLIM_INFINITY:
        return None
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            size = Path(f"{path}{suffix}").stat().st_size
        except OSError:
            continue
        # The write that failed began below the limit: it is the last pages that did not fit.
        if size + _NEARLY_FULL >= soft:
            return soft
    return None


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mkdir_reason(error: DataDirectoryError) -> str:
    # "Not a directory" and "File exists" say little: name the file in the way.
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = _existing(error.directory)
        if blocker == error.directory and not blocker.is_dir():
            return "a file of that name is in the way"
        if not blocker.is_dir():
            return f"{blocker} is a file, not a directory"
    return error.strerror or str(error)


# -- PostgreSQL -----------------------------------------------------------------------------------


def _server(url: URL) -> str:
    host = url.host or str(url.query.get("host") or "localhost")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.port or 5432}"


def _postgres(error: asyncpg.PostgresError, url: URL) -> str | None:
    state = str(getattr(error, "sqlstate", "") or "")
    if not state.startswith(_PG_FAULT_CLASSES) and state not in _PG_FAULT_STATES:
        return None
    message = str(error)
    server = _server(url)
    database = url.database or url.username or "postgres"
    if state == "3D000":
        return f'database "{database}" does not exist on {server}'
    if state.startswith("28"):
        return f"PostgreSQL at {server} refused the login ({message})"
    if state == "53100":
        return f"the disk is full on the PostgreSQL server at {server} ({message})"
    if state == "25006":
        return f'database "{database}" on {server} is read-only ({message})'
    if state == "42501":
        return f'permission denied in database "{database}" on {server} ({message})'
    if state.startswith("08"):
        return f"cannot connect to PostgreSQL at {server} ({message})"
    return f"PostgreSQL at {server}: {message}"


def _unreachable(error: OSError, url: URL) -> str:
    server = _server(url)
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the PostgreSQL host in {server} ({error.strerror or error})"
    if isinstance(error, TimeoutError):
        return f"cannot connect to PostgreSQL at {server} (timed out)"
    code = error.errno
    if code is None:
        # asyncio joins the failures of every address a name resolved to into one OSError
        # without an errno ("Multiple exceptions: [Errno 111] …, [Errno 111] …").
        codes = {int(found) for found in re.findall(r"\[Errno (\d+)\]", str(error))}
        code = codes.pop() if len(codes) == 1 else None
    if code == errno.ECONNREFUSED:
        reason = "connection refused"
    elif code is not None:
        reason = os.strerror(code)
    else:
        reason = str(error) or type(error).__name__
    return f"cannot connect to PostgreSQL at {server} ({reason})"


def _raised_by_driver(error: BaseException) -> bool:
    for frame, _ in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
    return False
