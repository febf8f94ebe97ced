"""The gateway websocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats,
dispatches, RECONNECT and RESUME with replay.

A *session* outlives its connections: every dispatch gets the session's next
sequence number and goes into a bounded replay log, then to the live
connection if there is one. RESUME replays the log after the client's last
sequence, exactly as Discord does, so events sent while the bot reconnects are
not lost. Each connection has one writer task, which keeps the zlib stream in
order (every payload is one Z_SYNC_FLUSH-terminated chunk of a single stream).

Several sessions of the bot live at once, as on Discord, where a second
connection with the same token does not end the first (several bot processes
on one database): each is numbered by its IDENTIFY (the first is 1) and keeps
its number across RESUMEs. Guild and message events go to every session; an
interaction goes to exactly one (`deliver_one`).

A session that IDENTIFYs with ``shard: [id, count]`` is one shard of a sharded
bot: READY lists, GUILD_CREATE brings and every guild-scoped dispatch reaches
it only for the guilds its shard owns (see `motionwatch_standin.shards`); an interaction
goes to a session owning its guild.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from motionwatch_standin.journal import Journal
from motionwatch_standin.model import Guild, World
from motionwatch_standin.payload import JSON, StandInUsageError, as_snowflake, dumps
from motionwatch_standin.shards import Shard

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15

# Events a session only receives when it asked for the intent.
EVENT_INTENTS = {
    "GUILD_MEMBER_ADD": INTENT_GUILD_MEMBERS,
    "MESSAGE_CREATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_UPDATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE": INTENT_GUILD_MESSAGES,
}

REPLAY_LIMIT = 1000
SentFn = Callable[[float], None]


@dataclass
class _Outgoing:
    text: str
    on_sent: SentFn | None = None


@dataclass
class _Logged:
    seq: int
    text: str
    on_sent: SentFn | None


class _Connection:
    """One websocket; its writer task sends queued payloads in order."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self._zlib = zlib.compressobj() if compress else None
        self._queue: asyncio.Queue[_Outgoing | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write(), name="standin-gateway-writer")
        self.closing = False

    def send(self, payload: JSON, on_sent: SentFn | None = None) -> None:
        self.send_text(dumps(payload), on_sent)

    def send_text(self, text: str, on_sent: SentFn | None = None) -> None:
        if not self.closing:
            self._queue.put_nowait(_Outgoing(text, on_sent))

    async def _write(self) -> None:
        while (item := await self._queue.get()) is not None:
            try:
                if self._zlib is not None:
                    chunk = self._zlib.compress(item.text.encode()) + self._zlib.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await self.ws.send_bytes(chunk)
                else:
                    await self.ws.send_str(item.text)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway write failed: %s", exc)
                self.closing = True
                return
            if item.on_sent is not None:
                item.on_sent(time.perf_counter())

    async def close(self, code: int = 1000, message: str = "") -> None:
        """Flush what is queued (briefly: a client may have stopped reading), then close."""
        self.closing = True
        self._queue.put_nowait(None)
        _, pending = await asyncio.wait({self._writer}, timeout=2.0)
        if pending:
            await self._stop_writer()
        await self.ws.close(code=code, message=message.encode())

    async def abort(self) -> None:
        self.closing = True
        await self._stop_writer()
        await self.ws.close(code=1001)

    async def _stop_writer(self) -> None:
        self._writer.cancel()
        # gather() re-raises a cancellation of *this* task, unlike suppress().
        await asyncio.gather(self._writer, return_exceptions=True)


@dataclass
class _Session:
    id: str
    # Which IDENTIFY opened it (1 for the first): how tests name a bot process.
    number: int
    intents: int
    identify: JSON
    # None: the whole bot (no `shard` in IDENTIFY), which sees every guild.
    shard: Shard | None = None
    seq: int = 0
    log: deque[_Logged] = field(default_factory=lambda: deque(maxlen=REPLAY_LIMIT))
    connection: _Connection | None = None

    def wants(self, event: str) -> bool:
        needed = EVENT_INTENTS.get(event)
        return needed is None or bool(self.intents & needed)

    def owns(self, guild_id: int | None) -> bool:
        return self.shard is None or self.shard.owns(guild_id)

    @property
    def live(self) -> bool:
        return self.connection is not None and not self.connection.closing


@dataclass(frozen=True)
class ConnectRecord:
    """One websocket connection attempt: where the client connected and how."""

    path: str
    query: dict[str, str]
    at: float


class Gateway:
    def __init__(
        self,
        world: World,
        journal: Journal,
        token: str,
        resume_url: Callable[[], str],
        heartbeat_interval_ms: int,
    ) -> None:
        self._world = world
        self._journal = journal
        self._token = token
        self._resume_url = resume_url
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self.identifies: list[JSON] = []
        self.resume_count = 0
        self.ready_count = 0
        self.heartbeats = 0
        self.connects: list[ConnectRecord] = []
        world.emit = self.dispatch
        world.guild_added = self._guild_added

    @property
    def identify_count(self) -> int:
        return len(self.identifies)

    @property
    def live_sessions(self) -> list[int]:
        """The numbers of the sessions with an open connection not being told to reconnect,
        in IDENTIFY order."""
        return [s.number for s in self._sessions.values() if s.live]

    # -- sending -------------------------------------------------------------

    def dispatch(self, event: str, data: JSON, on_sent: SentFn | None = None) -> bool:
        """Send a DISPATCH to every session that owns its guild; False when none had a
        live connection."""
        delivered = False
        guild_id = _guild_of(event, data)
        for session in self._sessions.values():
            if session.wants(event) and session.owns(guild_id):
                delivered = self._dispatch_to(session, event, data, on_sent) or delivered
        return delivered

    def deliver_one(
        self,
        event: str,
        data: JSON,
        on_sent: SentFn | None = None,
        *,
        via: int | None = None,
        guild_id: int | None = None,
    ) -> tuple[int, bool]:
        """Send a DISPATCH to one session owning ``guild_id``: number ``via``, else the
        newest live one.

        With none live, the newest owning session keeps it for its RESUME. Returns
        the session's number and whether it went to a live connection.
        """
        session = self._chosen(via, guild_id)
        return session.number, self._dispatch_to(session, event, data, on_sent)

    def chosen(self, via: int | None, guild_id: int | None = None) -> int:
        """The number of the session `deliver_one` would use; StandInUsageError if none."""
        return self._chosen(via, guild_id).number

    def _chosen(self, via: int | None, guild_id: int | None) -> _Session:
        sessions = list(self._sessions.values())
        if via is not None:
            for session in sessions:
                if session.number == via:
                    if not session.owns(guild_id):
                        raise StandInUsageError(
                            f"gateway session {via} is shard {session.shard}, which does not"
                            f" own guild {guild_id}"
                        )
                    return session
            raise StandInUsageError(
                f"no gateway session {via}; sessions: {[s.number for s in sessions] or 'none'}"
            )
        if not sessions:
            raise StandInUsageError("the bot has not identified on the gateway yet")
        owning = [s for s in sessions if s.owns(guild_id)]
        if not owning:
            raise StandInUsageError(
                f"no gateway session owns guild {guild_id}; shards:"
                f" {[(s.number, s.shard) for s in sessions]}"
            )
        live = [s for s in owning if s.live]
        return (live or owning)[-1]

    def _dispatch_to(
        self, session: _Session, event: str, data: JSON, on_sent: SentFn | None = None
    ) -> bool:
        session.seq += 1
        text = dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
        session.log.append(_Logged(session.seq, text, on_sent))
        connection = session.connection
        if connection is None or connection.closing:
            return False
        connection.send_text(text, on_sent)
        return True

    def _guild_added(self, guild: Guild) -> None:
        for session in self._sessions.values():
            if session.owns(guild.id):
                self._dispatch_to(session, "GUILD_CREATE", self._guild_payload(session, guild))

    def _guild_payload(self, session: _Session, guild: Guild) -> JSON:
        # Without the privileged GUILD_MEMBERS intent Discord only sends the bot itself.
        if session.intents & INTENT_GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            members = [m for m in guild.members.values() if m.user.id == self._world.bot.id]
        return guild.to_payload(members=members)

    async def send_reconnect(self) -> int:
        """Op 7 to every live session; returns how many were told."""
        told = 0
        for session in self._sessions.values():
            connection = session.connection
            if connection is not None and not connection.closing:
                connection.send({"op": RECONNECT, "d": None})
                # Events from now on wait in the log for the RESUME.
                connection.closing = True
                told += 1
        return told

    async def close_all(self) -> None:
        for connection in list(self._connections):
            await connection.abort()
        self._connections.clear()

    # -- the websocket handler -------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.connects.append(ConnectRecord(request.path, query, time.perf_counter()))
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        compress = query.get("compress")
        problem = None
        if query.get("v") not in (None, "10"):
            problem = (4012, f"invalid API version {query.get('v')}")
        elif query.get("encoding", "json") != "json":
            problem = (4002, f"encoding {query.get('encoding')} is not supported by the stand-in")
        elif compress not in (None, "zlib-stream"):
            problem = (4000, f"compress={compress} is not supported by the stand-in")
        connection = _Connection(ws, compress == "zlib-stream")
        self._connections.add(connection)
        try:
            if problem is not None:
                self._journal.violation(f"GATEWAY {request.path}", problem[1])
                await connection.close(problem[0], problem[1])
                return ws
            connection.send({"op": HELLO, "d": {"heartbeat_interval": self._heartbeat_interval_ms}})
            await self._serve(connection)
        finally:
            self._connections.discard(connection)
            for session in self._sessions.values():
                if session.connection is connection:
                    session.connection = None
            await connection.close()
            # A waiter may be watching for this session to go (its bot process stopped).
            self._journal.notify()
        return ws

    async def _serve(self, connection: _Connection) -> None:
        session: _Session | None = None
        async for message in connection.ws:
            if message.type is not WSMsgType.TEXT:
                if message.type is WSMsgType.BINARY:
                    await connection.close(4002, "binary payloads are not supported")
                return
            try:
                payload = json.loads(message.data)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await connection.close(4002, "decode error")
                return
            data = payload.get("d")
            if op == HEARTBEAT:
                self.heartbeats += 1
                connection.send({"op": HEARTBEAT_ACK})
            elif session is None and op == IDENTIFY:
                session = await self._identify(connection, data)
            elif session is None and op == RESUME:
                session = await self._resume(connection, data)
            elif session is None:
                await connection.close(4003, "not authenticated")
                return
            elif op in (IDENTIFY, RESUME):
                await connection.close(4005, "already authenticated")
                return
            elif op == REQUEST_MEMBERS:
                self._members_chunk(session, data)
            elif op in (PRESENCE, VOICE_STATE):
                pass  # accepted; the stand-in keeps no presence or voice state
            else:
                await connection.close(4001, f"unknown opcode {op}")
                return
            if connection.ws.closed:
                return

    async def _identify(self, connection: _Connection, data: JSON) -> _Session | None:
        if not isinstance(data, dict) or data.get("token") != self._token:
            self._journal.notify()
            await connection.close(4004, "authentication failed")
            return None
        if not isinstance(data.get("intents"), int):
            await connection.close(4013, "intents are required in gateway v10")
            return None
        shard = None
        if data.get("shard") is not None:
            try:
                shard = Shard.parse(data["shard"])
            except ValueError as exc:
                self._journal.violation("GATEWAY IDENTIFY", str(exc))
                await connection.close(4010, "Invalid shard")
                return None
        self.identifies.append({**data, "token": "<redacted>"})
        # Older sessions go on: on Discord a second connection does not end the first.
        session = _Session(
            secrets.token_hex(16), len(self.identifies), int(data["intents"]), data, shard
        )
        session.connection = connection
        # discord.py waits in READY handling for a GUILD_CREATE of every guild listed.
        guilds = [g for g in self._world.guilds.values() if session.owns(g.id)]
        self._sessions[session.id] = session
        ready: JSON = {
            "v": 10,
            "user": {**self._world.bot.to_payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(),
            "application": {"id": str(self._world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["discord-standin"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            # Guilds listed unavailable in READY arrive as GUILD_CREATE with unavailable=false.
            payload = {**self._guild_payload(session, guild), "unavailable": False}
            self._dispatch_to(session, "GUILD_CREATE", payload)
        self.ready_count += 1
        self._journal.notify()
        return session

    async def _resume(self, connection: _Connection, data: JSON) -> _Session | None:
        data = data if isinstance(data, dict) else {}
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if data.get("token") != self._token:
            await connection.close(4004, "authentication failed")
            return None
        oldest = session.log[0].seq if session is not None and session.log else 1
        if session is None or not isinstance(seq, int) or seq < oldest - 1:
            # Not resumable: the client must IDENTIFY again.
            connection.send({"op": INVALID_SESSION, "d": False})
            self._journal.notify()
            return None
        if session.connection is not None and session.connection is not connection:
            session.connection.closing = True
        session.connection = connection
        for entry in session.log:
            if entry.seq > seq:
                connection.send_text(entry.text, entry.on_sent)
        self._dispatch_to(session, "RESUMED", {"_trace": ["discord-standin"]})
        self.resume_count += 1
        self._journal.notify()
        return session

    def _members_chunk(self, session: _Session, data: JSON) -> None:
        """Answer REQUEST_GUILD_MEMBERS with one chunk, as a small guild gets."""
        data = data if isinstance(data, dict) else {}
        guild = self._world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        query = str(data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [
            m.to_payload()
            for m in guild.members.values()
            if (not wanted or m.user.id in wanted) and m.user.username.lower().startswith(query)
        ]
        limit = int(data.get("limit") or 0)
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)


def _guild_of(event: str, data: JSON) -> int | None:
    """The guild a dispatch belongs to (None: not guild-scoped)."""
    if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
        return as_snowflake(data.get("id"))
    return as_snowflake(data.get("guild_id"))
