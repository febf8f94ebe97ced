"""A broken database stops the bot with one line naming DATABASE_URL, exit 1, no traceback.

Every fault is real: random bytes, a migrated file cut in half, a file even root cannot
write, a disk that is full, a port nobody listens on, a database the real server does not
have, a data directory under a regular file. ``--check`` is the quick way to start the
bot; the normal run (``python bot.py`` against the stand-in, which reaches the database
in setup_hook) is covered for a corrupt file and PostgreSQL down.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from config.settings import normalize_database_url
from config.tracker import load_tracker
from motionwatch_standin import DiscordStandIn
from runtime.startup import prepare_database
from storage.engine import create_engine, session_factory
from tests.conftest import PG_URL, ROOT
from tests.test_cli import clean_env, standin_env

PASSWORD = "s3cret-pw-never-shown"
# A log record below ERROR, as runtime.logs formats it: what a normal run says before the fault.
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING) ")
Preexec = Callable[[], None]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def check(
    database_url: str, *, preexec_fn: Preexec | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``python bot.py --check`` on ``database_url``."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--check"],
        cwd=ROOT,
        env=clean_env(DATABASE_URL=database_url, **settings),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec_fn,
    )


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a start that met a storage fault printed, after checking it is alone."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("DATABASE_URL: "), result.stderr
    assert PASSWORD not in result.stderr
    return lines[0]


async def run_bot(env: dict[str, str]) -> tuple[int, str]:
    """``python bot.py`` (the normal run) to its end: exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode(errors="replace")


def the_last_line(returncode: int, stderr: str) -> str:
    """The fault line ending a normal run, after checking what comes before it.

    The log records before it (discord.py's login at INFO, its voice warnings) are the
    run's ordinary output; nothing else may be there.
    """
    assert returncode == 1, stderr
    assert "Traceback" not in stderr
    assert PASSWORD not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, stderr
    assert all(_LOG_RECORD.match(line) for line in lines[:-1]), stderr
    assert lines[-1].startswith("DATABASE_URL: "), stderr
    return lines[-1]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def file_size_limit(size: int) -> Preexec:
    """For a child process: no file grows past ``size`` bytes.

    A write past the limit then fails with EFBIG instead of killing the process (SIGXFSZ).
    """

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


# -- faults that take some making ---------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path | None]]:
    """Mounts a tmpfs of the given size (None where mounting is not permitted)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path | None:
        where = tmp_path / f"tmpfs{len(mounted)}"
        where.mkdir()
        if not _run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)]):
            return None
        mounted.append(where)
        return where

    try:
        yield mount
    finally:
        for where in reversed(mounted):
            subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
async def migrated_db(tmp_path: Path) -> Path:
    """A real database file, migrated and seeded, closed (its WAL folded in)."""
    path = tmp_path / "source" / "motionwatch.db"
    engine = create_engine(sqlite_url(path))
    try:
        await prepare_database(
            engine,
            session_factory(engine),
            items=load_tracker(ROOT / "config" / "tracker.toml").items,
        )
    finally:
        await engine.dispose()
    return path


@contextlib.contextmanager
def unwritable(db: Path, tmpfs: Callable[[str], Path | None]) -> Iterator[Path]:
    """A copy of ``db`` that the bot's process cannot write, nor create files beside.

    Root ignores file modes, and these tests run as root in CI: the immutable attribute
    binds root too, and a read-only mount anyone; modes are enough for anyone else.
    """
    if os.geteuid() != 0:
        directory = db.parent.parent / "read-only"
        directory.mkdir()
        shutil.copy(db, directory / db.name)
        (directory / db.name).chmod(0o444)
        directory.chmod(0o555)
        try:
            yield directory / db.name
        finally:
            directory.chmod(0o755)
        return
    directory = db.parent.parent / "immutable"
    directory.mkdir()
    copy = directory / db.name
    shutil.copy(db, copy)
    paths = [str(copy), str(directory)]
    if _run(["chattr", "+i", *paths]):
        try:
            yield copy
        finally:
            subprocess.run(["chattr", "-i", *paths], check=True)
        return
    _run(["chattr", "-i", *paths])
    where = tmpfs("1m")
    if where is not None:
        shutil.copy(db, where / db.name)
        if _run(["mount", "-o", "remount,ro", str(where)]):
            yield where / db.name
            return
    pytest.skip("as root, neither chattr +i nor a read-only tmpfs mount is permitted here")


def _run(command: list[str]) -> bool:
    """Whether ``command`` ran and succeeded (a missing tool is a no)."""
    try:
        return subprocess.run(command, capture_output=True, check=False).returncode == 0
    except OSError:
        return False


# -- --check, one fault each -------------------------------------------------------------------


def test_a_corrupt_file(tmp_path: Path) -> None:
    db = tmp_path / "motionwatch.db"
    db.write_bytes(os.urandom(64 * 1024))
    line = the_one_line(check(sqlite_url(db)))
    assert line == f"DATABASE_URL: {db} is not a SQLite database (file is not a database)"


def test_a_truncated_file(migrated_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "motionwatch.db"
    # Closing folded the WAL into the file: the half is half of the whole database.
    assert not Path(f"{migrated_db}-wal").exists()
    whole = migrated_db.read_bytes()
    db.write_bytes(whole[: len(whole) // 2])
    line = the_one_line(check(sqlite_url(db)))
    assert line.startswith(f"DATABASE_URL: {db} is corrupt ("), line


def test_a_read_only_file(migrated_db: Path, tmpfs: Callable[[str], Path | None]) -> None:
    with unwritable(migrated_db, tmpfs) as db:
        line = the_one_line(check(sqlite_url(db)))
    assert line.startswith(f"DATABASE_URL: {db} is read-only ("), line


def test_a_full_disk(tmp_path: Path, tmpfs: Callable[[str], Path | None]) -> None:
    where = tmpfs("64k")
    if where is not None:
        db = where / "motionwatch.db"
        line = the_one_line(check(sqlite_url(db)))
        assert line == f"DATABASE_URL: the disk is full writing {db}"
        return
    # No mounting here: a file size limit is the same fault for SQLite, a write that fails.
    db = tmp_path / "motionwatch.db"
    line = the_one_line(check(sqlite_url(db), preexec_fn=file_size_limit(64 * 1024)))
    assert line == f"DATABASE_URL: {db} reached the file size limit of 65536 bytes (ulimit -f)"


def test_a_data_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a regular file where a directory should be\n", encoding="utf-8")
    line = the_one_line(check(sqlite_url(blocker / "db" / "motionwatch.db")))
    assert line == (
        f"DATABASE_URL: cannot create the data directory {blocker / 'db'} "
        f"({blocker} is a file, not a directory)"
    )


def test_postgresql_down() -> None:
    port = unused_port()
    line = the_one_line(check(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/motionwatch"))
    assert (
        line
        == f"DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:{port} (connection refused)"
    )


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL names no PostgreSQL server")
def test_a_postgresql_database_that_does_not_exist() -> None:
    name = f"mw_missing_{uuid.uuid4().hex[:12]}"
    url = make_url(normalize_database_url(PG_URL)).set(database=name)
    result = check(url.render_as_string(hide_password=False))
    line = the_one_line(result)
    assert line == (
        f'DATABASE_URL: database "{name}" does not exist on {url.host}:{url.port or 5432}'
    )
    if url.password:
        assert str(url.password) not in result.stderr


def test_at_debug_the_traceback_is_in_the_log(tmp_path: Path) -> None:
    db = tmp_path / "motionwatch.db"
    db.write_bytes(os.urandom(64 * 1024))
    result = check(sqlite_url(db), LOG_LEVEL="DEBUG")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "sqlite3.DatabaseError: file is not a database" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"DATABASE_URL: {db} is not a SQLite database (file is not a database)"


# -- the normal run and the demo ---------------------------------------------------------------


async def test_the_normal_run_on_a_corrupt_file(standin: DiscordStandIn, tmp_path: Path) -> None:
    db = tmp_path / "motionwatch.db"
    db.write_bytes(os.urandom(64 * 1024))
    returncode, stderr = await run_bot(standin_env(standin, sqlite_url(db)))
    line = the_last_line(returncode, stderr)
    assert line == f"DATABASE_URL: {db} is not a SQLite database (file is not a database)"


async def test_the_normal_run_with_postgresql_down(standin: DiscordStandIn) -> None:
    port = unused_port()
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/motionwatch"
    returncode, stderr = await run_bot(standin_env(standin, url))
    line = the_last_line(returncode, stderr)
    assert (
        line
        == f"DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:{port} (connection refused)"
    )


def test_the_demo_on_a_full_disk(tmp_path: Path, tmpfs: Callable[[str], Path | None]) -> None:
    # The demo's database is a file in a temporary directory of its own: TMPDIR says where.
    where = tmpfs("64k")
    preexec_fn = None
    if where is None:
        where, preexec_fn = tmp_path, file_size_limit(64 * 1024)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--demo"],
        cwd=ROOT,
        env=clean_env(TMPDIR=str(where)),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec_fn,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    demo_db = where / "motionwatch-demo-…" / "demo.db"
    if preexec_fn is None:
        assert lines[0] == f"TMPDIR: the disk is full writing {demo_db}"
    else:
        # The demo's files are gone by then: nothing shows they reached the limit.
        assert lines[0].startswith("TMPDIR: ") and str(demo_db) in lines[0], lines[0]
