"""Starting, stopping and pausing the fake server: aiohttp in a daemon thread with its own event loop.

Tests stay synchronous while many requests overlap; `pause()`/`resume()` model an
outage (connections refused, then the same port again).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Self

from aiohttp import web

from .handlers_service import algorithms_json
from .state import ServerState


class Lifecycle(ServerState):
    """start()/stop(), the context manager, and pause()/resume(); the app comes from `_make_app()`."""

    def _make_app(self) -> web.Application:
        raise NotImplementedError  # FakeEarthEngine (server.py) routes the endpoints

    # ----- lifecycle -----
    def start(self) -> str:
        """Bind 127.0.0.1 on a free port, serve in a daemon thread, return the base URL."""
        if self._thread is not None:
            assert self.url is not None
            return self.url
        if self._algorithms is None:
            self._algorithms = algorithms_json()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # resume() binds the port again
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-ee-pixels")
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready, failure), name="fake-ee-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(30) or failure:
            self.stop()
            raise RuntimeError(f"fake Earth Engine server failed to start: {failure}")
        self.url = f"http://127.0.0.1:{port}"
        self._port = port
        return self.url

    # ----- an outage: the endpoint refusing connections, on the same port afterwards -----
    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def pause(self) -> None:
        """Refuse connections until ``resume()``: the listening socket is closed (a new connection is
        refused) and every open connection is reset (a request in flight fails without an answer)."""
        self._call_in_loop(self._pause())

    def resume(self) -> None:
        """Listen again on the same port, as the endpoint coming back."""
        self._call_in_loop(self._resume())

    def _call_in_loop(self, coroutine: Awaitable[None]) -> None:
        assert self._loop is not None, "start() the server first"
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    async def _pause(self) -> None:
        if self._paused or self._site is None or self._runner is None:
            return
        with self._lock:
            self._paused = True
        await self._site.stop()
        self._site = None
        server = self._runner.server
        for connection in list(server.connections if server is not None else []):
            transport = connection.transport
            if transport is not None:
                transport.abort()

    async def _resume(self) -> None:
        if not self._paused or self._runner is None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._site = web.SockSite(self._runner, sock, backlog=1024)
        await self._site.start()
        with self._lock:
            self._paused = False

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._loop = self._thread = self._executor = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._make_app(), access_log=None, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(runner.setup())
            site = web.SockSite(runner, sock, backlog=1024)
            loop.run_until_complete(site.start())
            self._runner, self._site = runner, site
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()
