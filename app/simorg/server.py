"""Run the simulated org: a TLS HTTP server on 127.0.0.1 in a background thread or in the foreground.

    with SimOrg.start("chat-vendor-theft") as sim:
        sim.url, sim.ca_path, sim.store, sim.faults, sim.demo_login
        sim.expire_sessions(); sim.faults.set(rate_limit_after=3)

Admin HTTP API (for a facilitator's second terminal; bound to 127.0.0.1 like everything else):
    GET  /__sim/info                      org id, URL, row counts, API usage
    GET  /__sim/faults                    current fault settings
    POST /__sim/faults   {"delay_ms": 0, "error_500": 2, "rate_limit_after": 5, "rate_limit_for": null,
                          "clear_rate_limit": true, "expire_sessions": true, "reset": true}
    POST /__sim/inject   {a seed fragment: "oauth_tokens": [...], "login_history": [...], ...}
"""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.base.clock import AcceleratedClock, Clock
from app.base.errors import WarroomError
from app.simorg.build import apply_fragment, build_store
from app.simorg.cert import CertFiles, generate_cert, server_context
from app.simorg.faults import RATE_LIMITED, Faults
from app.simorg.handler import Reply, SimHandler, json_reply
from app.simorg.metadata import MetadataService
from app.simorg.seed import LoadedSeed, SeedError, TruthSeed, load_seed, validate_fragment
from app.simorg.store import Store

HOST = "127.0.0.1"


@dataclass(frozen=True)
class DemoLogin:
    """A seeded user who can log in to the simulator (simulation values, not real secrets)."""

    username: str
    password: str
    security_token: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim: SimOrg

    def handle_error(self, request: Any, client_address: Any) -> None:
        # TLS handshakes refused by clients (wrong CA tests) and dropped connections are expected noise.
        exc = sys.exc_info()[1]
        if isinstance(exc, ssl.SSLError | ConnectionError | TimeoutError | OSError):
            self.sim.log(f"connection from {client_address[0]} ended: {type(exc).__name__}")
            return
        self.sim.log(f"error handling request from {client_address[0]}: {exc!r}")


class SimOrg:
    faults_rate_limited = RATE_LIMITED

    def __init__(
        self,
        loaded: LoadedSeed,
        store: Store,
        *,
        port: int = 0,
        cert_dir: Path | None = None,
        verbose: bool = False,
    ) -> None:
        self.seed = loaded
        self.store = store
        self.metadata = MetadataService(store)  # the Metadata API's components (app/simorg/metadata.py)
        self.faults = Faults()
        self.verbose = verbose
        self._own_cert_dir = cert_dir is None
        self.cert_dir = Path(tempfile.mkdtemp(prefix="warroom-simorg-")) if cert_dir is None else Path(cert_dir)
        self.cert: CertFiles = generate_cert(self.cert_dir)
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.log_lines: list[str] = []
        # (method, path) of every Salesforce request received, oldest first (no query string, no body: a
        # revoke's token never lands here). Tests assert on it that nothing was sent.
        self.received: collections.deque[tuple[str, str]] = collections.deque(maxlen=100_000)
        try:
            self._httpd = _Server((HOST, port), SimHandler, bind_and_activate=True)
        except OSError as exc:
            self._cleanup_cert()
            raise WarroomError(f"simulated org: cannot listen on {HOST}:{port} ({exc.strerror})") from None
        self._httpd.sim = self
        self._httpd.socket = server_context(self.cert).wrap_socket(
            self._httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port: int = self._httpd.server_address[1]
        self.url = f"https://{HOST}:{self.port}"
        store.base_url = self.url

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def create(
        cls,
        seed: str | Path | LoadedSeed | None = None,
        *,
        port: int = 0,
        cert_dir: Path | None = None,
        clock: Clock | None = None,
        verbose: bool = False,
    ) -> SimOrg:
        """Build the org from a seed (a shipped name, a path, or an already loaded seed) and bind the port."""
        loaded = seed if isinstance(seed, LoadedSeed) else load_seed(seed)
        clock = clock or AcceleratedClock(loaded.seed.organization.now, speed=1.0)
        store = build_store(loaded, clock)
        return cls(loaded, store, port=port, cert_dir=cert_dir, verbose=verbose)

    @classmethod
    def start(
        cls,
        seed: str | Path | LoadedSeed | None = None,
        *,
        port: int = 0,
        cert_dir: Path | None = None,
        clock: Clock | None = None,
        verbose: bool = False,
    ) -> SimOrg:
        """Create the org and serve it from a background thread (tests, demo, exercises)."""
        sim = cls.create(seed, port=port, cert_dir=cert_dir, clock=clock, verbose=verbose)
        sim._thread = threading.Thread(
            target=sim._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"simorg-{sim.port}", daemon=True
        )
        sim._thread.start()
        return sim

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop()` or KeyboardInterrupt."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._cleanup_cert()

    def _cleanup_cert(self) -> None:
        if self._own_cert_dir:
            shutil.rmtree(self.cert_dir, ignore_errors=True)

    def __enter__(self) -> SimOrg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ facts for callers

    @property
    def ca_path(self) -> Path:
        """The PEM certificate a client must trust (verify=...)."""
        return self.cert.cert_path.resolve()

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def truth(self) -> TruthSeed | None:
        return self.seed.seed.truth

    @property
    def demo_login(self) -> DemoLogin | None:
        """The first seeded user with a password (the responder's account in the shipped seeds)."""
        for user in self.seed.seed.users:
            if user.password is not None:
                return DemoLogin(user.username, user.password, user.security_token)
        return None

    def login_for(self, user_key: str) -> DemoLogin:
        for user in self.seed.seed.users:
            if user.key == user_key and user.password is not None:
                return DemoLogin(user.username, user.password, user.security_token)
        raise KeyError(f"seed user {user_key!r} has no password")

    def expire_sessions(self) -> int:
        """Fault: every issued session id stops working (next call gets 401 INVALID_SESSION_ID)."""
        return self.store.expire_all_sessions()

    def inject(self, fragment: dict[str, Any], origin: str = "inject") -> None:
        """Tabletop inject: add seed-shaped rows (tokens, logins, events...) to the running org."""
        apply_fragment(self.store, validate_fragment(fragment, origin), origin)

    # ------------------------------------------------------------ used by the handler

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conns_lock:
            if alive:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def pause(self) -> None:
        delay = self.faults.delay_ms
        if delay:
            self._stop.wait(delay / 1000)

    def log(self, line: str) -> None:
        self.log_lines.append(line)
        del self.log_lines[:-500]
        if self.verbose:
            print(f"simorg: {line}", file=sys.stderr, flush=True)

    def info(self) -> dict[str, Any]:
        with self.store.lock:
            counts = {name: len(t.rows) for name, t in self.store.tables.items() if t.rows}
            return {
                "url": self.url,
                "org_id": self.store.org.id,
                "org_name": self.store.org.name,
                "api_usage": f"{self.store.api_used}/{self.store.org.api_limit}",
                "counts": counts,
                "seed": str(self.seed.path),
            }

    def admin(self, method: str, path: str, body: bytes) -> Reply:
        route = path.rstrip("/")
        try:
            payload = json.loads(body.decode("utf-8") or "{}") if body else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return json_reply(400, {"error": f"body is not JSON: {exc}"})
        if not isinstance(payload, dict):
            return json_reply(400, {"error": "body must be a JSON object"})
        if route == "/__sim/info" and method == "GET":
            return json_reply(200, self.info())
        if route == "/__sim/faults" and method == "GET":
            return json_reply(200, self.faults.state())
        if route == "/__sim/faults" and method == "POST":
            allowed = {
                "delay_ms",
                "error_500",
                "rate_limit_after",
                "rate_limit_for",
                "clear_rate_limit",
                "revoke_unsupported",
                "deny_access",
                "error_500_on",
                "expire_sessions",
                "reset",
            }
            unknown = sorted(set(payload) - allowed)
            if unknown:
                return json_reply(400, {"error": f"unknown fault setting(s): {', '.join(unknown)}"})
            try:
                if payload.get("reset"):
                    self.faults.reset()
                self.faults.set(
                    delay_ms=payload.get("delay_ms"),
                    error_500=payload.get("error_500"),
                    rate_limit_after=payload.get("rate_limit_after"),
                    rate_limit_for=payload.get("rate_limit_for"),
                    clear_rate_limit=bool(payload.get("clear_rate_limit")),
                    revoke_unsupported=payload.get("revoke_unsupported"),
                    deny_access=payload.get("deny_access"),
                    error_500_on=payload.get("error_500_on"),
                )
            except (TypeError, ValueError) as exc:
                return json_reply(400, {"error": f"bad fault setting: {exc}"})
            expired = self.expire_sessions() if payload.get("expire_sessions") else 0
            return json_reply(200, {**self.faults.state(), "sessions_expired": expired})
        if route == "/__sim/inject" and method == "POST":
            try:
                self.inject(payload)
            except SeedError as exc:
                return json_reply(400, {"error": str(exc)})
            return json_reply(200, {"ok": True, **self.info()})
        return json_reply(404, {"error": f"no admin route {method} {route}"})
