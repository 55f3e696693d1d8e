"""Headless Chromium (Debian's package) driven over the Chrome DevTools
Protocol on its WebSocket: just enough to click, type, read the page, take
screenshots and see every request the page makes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection

CHROMIUM = os.environ.get("SCRIPTBOX_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-default-browser-check",
    "--window-size=1280,900",
    # Any host name fails to resolve: only IP literals (127.0.0.1) load, so
    # a page that needs a CDN visibly breaks instead of quietly going online.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
]

Handler = Callable[[dict[str, Any]], None]


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handlers: dict[str | None, list[Handler]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                else:
                    for handler in list(self._handlers.get(message.get("sessionId"), [])):
                        handler(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CDPError("the browser closed the connection"))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self._ws.send(json.dumps(message))
        answer = await asyncio.wait_for(future, 60)
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def on(self, session: str, handler: Handler) -> None:
        self._handlers.setdefault(session, []).append(handler)

    @asynccontextmanager
    async def page(self) -> AsyncIterator[Page]:
        """A tab in its own browser context (fresh cookies and storage)."""
        context = (await self.send("Target.createBrowserContext"))["browserContextId"]
        target = (
            await self.send(
                "Target.createTarget", {"url": "about:blank", "browserContextId": context}
            )
        )["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))[
            "sessionId"
        ]
        page = Page(self, session, context)
        self.on(session, page._event)
        for domain in ("Page", "Runtime", "Network", "Log"):
            await page.send(f"{domain}.enable")
        try:
            yield page
        finally:
            self._handlers.pop(session, None)
            with contextlib.suppress(CDPError):
                await self.send("Target.closeTarget", {"targetId": target})
                await self.send("Target.disposeBrowserContext", {"browserContextId": context})

    async def close(self) -> None:
        await self._ws.close()
        await self._reader


class Page:
    def __init__(self, browser: Browser, session: str, context: str) -> None:
        self._browser = browser
        self._session = session
        self._context = context
        self._waiters: list[tuple[str, asyncio.Future[dict[str, Any]]]] = []
        # What the page asked for and what went wrong, for assertions.
        self.requests: list[dict[str, Any]] = []
        self.failed: list[str] = []
        self.console: list[str] = []

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._browser.send(method, params, self._session)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            request = params["request"]
            self.requests.append(
                {
                    "url": request["url"],
                    "method": request["method"],
                    "body": request.get("postData"),
                }
            )
        elif method == "Network.webSocketCreated":
            self.requests.append({"url": params["url"], "method": "WEBSOCKET", "body": None})
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            self.failed.append(f"{params.get('type')}: {params.get('errorText')}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.console.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.console.append(f"exception: {text}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            if entry["level"] in ("error", "warning"):
                self.console.append(f"log.{entry['level']}: {entry['text']} {entry.get('url', '')}")
        for waiter in list(self._waiters):
            name, future = waiter
            if name == method and not future.done():
                future.set_result(params)
                self._waiters.remove(waiter)

    def hosts(self) -> set[str]:
        """Every host the page sent a request to (data: and blob: URLs have none)."""
        hosts = set()
        for request in self.requests:
            parts = urlsplit(request["url"])
            if parts.scheme not in ("data", "blob", "about"):
                hosts.add(parts.hostname or "")
        return hosts

    async def goto(self, url: str, timeout: float = 30) -> None:
        loaded: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append(("Page.loadEventFired", loaded))
        answer = await self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise CDPError(f"navigating to {url}: {answer['errorText']}")
        await asyncio.wait_for(loaded, timeout)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"{expression!r} threw: {text}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.05) -> Any:
        """Poll a JS expression until it is truthy; returns its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        # An element is not returned by value: report it as true.
        probe = f"(() => {{ const v = ({expression}); return v instanceof Node ? true : v; }})()"
        while True:
            value = await self.evaluate(probe)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"timed out waiting for {expression!r}; console: {self.console}"
                )
            await asyncio.sleep(interval)

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        box = await self.wait_for(
            f"""(() => {{
                const el = document.querySelector({json.dumps(selector)});
                if (!el) return null;
                el.scrollIntoView({{block: "center"}});
                const r = el.getBoundingClientRect();
                return r.width && r.height ? {{x: r.x + r.width / 2, y: r.y + r.height / 2}} : null;
            }})()"""
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1},
            )

    async def type(self, selector: str, text: str, replace: bool = True) -> None:
        """Focus a field by clicking it and type text into it (as an IME would)."""
        await self.click(selector)
        if replace:
            await self.key("a", modifiers=2)  # Ctrl+A
            await self.key("Backspace")
        await self.send("Input.insertText", {"text": text})

    async def key(self, key: str, modifiers: int = 0) -> None:
        codes = {"Backspace": 8, "Enter": 13, "Escape": 27}
        letter = len(key) == 1 and key.isalpha()
        params = {
            "key": key,
            "code": "Key" + key.upper() if len(key) == 1 else key,
            # A letter's key code is its capital's (what Ctrl+S shortcuts read).
            "windowsVirtualKeyCode": ord(key.upper()) if letter else codes.get(key, 0),
            "modifiers": modifiers,
        }
        await self.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **params})
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **params})

    async def allow_downloads(self, folder: Path) -> None:
        """Save what the page downloads into `folder` (under its own name)."""
        await self._browser.send(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "browserContextId": self._context, "downloadPath": str(folder)},
        )

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(_write, path, base64.b64decode(shot["data"]))
        return path


def _die_with_parent() -> None:
    """Linux: Chromium gets SIGTERM when the test process dies, even when
    it is killed before it can stop the browser itself."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Start Chromium with a fresh profile; stop it and remove the profile after."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/setup-browser.sh")
    profile = tempfile.mkdtemp(prefix="scriptbox-chromium-")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )
    log: list[str] = []
    drain: asyncio.Task[None] | None = None
    try:
        assert process.stderr is not None
        try:
            endpoint = await asyncio.wait_for(_devtools_url(process.stderr, log), 60)
        except TimeoutError as exc:
            raise RuntimeError("Chromium did not start:\n" + "\n".join(log[-30:])) from exc
        # Keep reading stderr so Chromium never blocks on a full pipe.
        drain = asyncio.create_task(_drain(process.stderr, log))
        async with websockets.connect(endpoint, max_size=None) as ws:
            browser = Browser(ws)
            try:
                yield browser
            finally:
                await browser.close()
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        shutil.rmtree(profile, ignore_errors=True)


async def _devtools_url(stream: asyncio.StreamReader, log: list[str]) -> str:
    prefix = "DevTools listening on "
    while True:
        line = (await stream.readline()).decode(errors="replace")
        if not line:
            raise RuntimeError("Chromium exited:\n" + "\n".join(log[-30:]))
        log.append(line.rstrip())
        if line.startswith(prefix):
            return line[len(prefix) :].strip()


async def _drain(stream: asyncio.StreamReader, log: list[str]) -> None:
    while line := await stream.readline():
        log.append(line.decode(errors="replace").rstrip())
        del log[:-200]
