"""One watch a process (an event loop) on the channel layer, while alert sockets are open.

When Redis goes down, channels_redis raises nothing at the sockets it already serves: their
group subscriptions simply stop delivering, and an officer would see a live-looking page fed
only by the periodic catch-up. The watch probes the layer every
``NIGRANI_WS_LAYER_PROBE_SECONDS`` and tells every registered socket when it goes down, on
each probe while it stays down (the socket catches up from the database), and when it is back.

The probe is a round trip, not a bare publish: a message sent to a channel the watch itself
listens on must come back within half the interval (at least 0.5 s). channels_redis' pub/sub
layer publishes on a pooled connection but receives on one subscribed connection per host,
which redis-py reconnects (re-subscribing every channel and group of the process in one
SUBSCRIBE) only on its next read, up to a second after a publish already works again. An echo
proves the subscriptions are back, so a catch-up made after it leaves nothing for the layer to
lose. A hung Redis counts as down (the timeout); the in-memory layer always echoes.

Only the probe's own channel is checked, so with several Redis hosts (shards) a dead shard
other than the probe's goes unseen; Nigrani runs one (``REDIS_URL``).
"""

import asyncio
import contextlib
import logging
import uuid
import weakref
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

PROBE_MESSAGE_TYPE = "layer.probe"
# How long the last socket's disconnect waits for the watch to stop: cancelling the receiver
# unsubscribes its channel, a Redis round trip (that a hung Redis never answers).
STOP_TIMEOUT_S = 2.0
# A probe's echo waits half the interval, and never less than this: a loaded process must not
# read as a dead Redis (a short interval is for tests).
PROBE_TIMEOUT_MIN_S = 0.5


class Watched(Protocol):
    """What a registered socket offers the watch (``push.consumers.AlertConsumer``)."""

    async def layer_down(self) -> None:
        """The layer just went down: tell the client, catch up."""

    async def layer_still_down(self) -> None:
        """Another probe failed: catch up from the database."""

    async def layer_up(self) -> None:
        """The layer is back: catch up once, tell the client."""


class LayerWatch:
    """The watch of one event loop: probes while any socket is registered, then stops."""

    def __init__(self, *, layer: Any) -> None:
        self.layer = layer
        self.sockets: weakref.WeakSet[Watched] = weakref.WeakSet()
        self.healthy = True
        self.probes = 0  # probes made (tests: none after the last socket left)
        self._channel: str | None = None
        self._echoes: dict[str, asyncio.Event] = {}
        self._receiver: asyncio.Task | None = None
        self._attempt: asyncio.Future | None = None
        self._stopped = False
        self._task: asyncio.Task | None = asyncio.get_running_loop().create_task(self._run())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @staticmethod
    def interval() -> float:
        return settings.NIGRANI_WS_LAYER_PROBE_SECONDS

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval())
            healthy = await self.probe()
            was_healthy, self.healthy = self.healthy, healthy
            if healthy and was_healthy:
                continue
            if healthy != was_healthy:
                logger.warning("channel layer %s", "back" if healthy else "down: sockets degraded")
            method = "layer_up" if healthy else "layer_down" if was_healthy else "layer_still_down"
            results = await asyncio.gather(
                *(getattr(socket, method)() for socket in list(self.sockets)),
                return_exceptions=True,
            )
            for result in results:
                # A socket closing meanwhile is no reason to stop watching for the others.
                if isinstance(result, Exception):
                    logger.info("layer watch: a socket's %s failed: %r", method, result)

    async def probe(self) -> bool:
        """Whether a message sent through the layer came back within the timeout."""
        self.probes += 1
        if self._attempt is not None and not self._attempt.done():
            return False  # the last one, given up, is still stuck in the layer: no second
        timeout = max(self.interval() / 2, PROBE_TIMEOUT_MIN_S)
        attempt = self._attempt = asyncio.ensure_future(self._round_trip())
        try:
            done, _ = await asyncio.wait({attempt}, timeout=timeout)
        finally:
            # Cancelled, not awaited: a hung Redis may hold a cancelled send up indefinitely.
            attempt.cancel()
        return bool(done) and not attempt.cancelled() and attempt.exception() is None

    async def _round_trip(self) -> None:
        if self._channel is None:
            self._channel = await self.layer.new_channel(prefix="layer-probe.")
        if self._stopped:
            return  # stopped while the channel was made
        if self._receiver is None or self._receiver.done():
            self._receiver = asyncio.ensure_future(self._receive(self._channel))
        token = uuid.uuid4().hex
        echoed = self._echoes[token] = asyncio.Event()
        try:
            await self.layer.send(self._channel, {"type": PROBE_MESSAGE_TYPE, "token": token})
            await echoed.wait()
        finally:
            del self._echoes[token]

    async def _receive(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            echoed = self._echoes.get(message.get("token", ""))
            if echoed is not None:
                echoed.set()  # an echo of a probe already given up is dropped

    async def stop(self) -> None:
        """Stop probing; bounded, as a hung Redis may hold up the receiver's cleanup."""
        self._stopped = True
        tasks = [t for t in (self._task, self._attempt, self._receiver) if t is not None]
        self._task = self._attempt = self._receiver = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for task in tasks:
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.exception()


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LayerWatch] = (
    weakref.WeakKeyDictionary()
)


def watch_current() -> LayerWatch | None:
    """The running loop's watch, if a socket is registered."""
    return _watches.get(asyncio.get_running_loop())


def register(socket: Watched, *, layer: Any) -> bool:
    """Watch the layer for ``socket`` (starting the loop's watch if it is the first); returns
    whether the layer was healthy at the last probe."""
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None or not watch.running:
        watch = _watches[loop] = LayerWatch(layer=layer)
    watch.sockets.add(socket)
    return watch.healthy


async def unregister(socket: Watched) -> None:
    """Stop watching for ``socket``; the last one out stops the loop's watch."""
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None:
        return
    watch.sockets.discard(socket)
    if not watch.sockets:
        del _watches[loop]
        await watch.stop()
