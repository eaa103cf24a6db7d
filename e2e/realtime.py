"""Does a realtime event cross replicas? Open WebUI's own Socket.IO client library, from the release's venv.

    python e2e/realtime.py <listener base URL> <sender base URL> <token> <chat id>

A listener on one replica and a sender on another both join the chat's room (`events:chat` type `join`); the
sender signals typing (`events:chat` type `typing`), which Open WebUI 0.12 emits to the room `chat:<id>` through
its Socket.IO manager: with WEBSOCKET_MANAGER=redis the listener's replica gets it over Redis. Prints JSON:
{"joined": [listener, sender], "received": bool, "seconds": float}. Standalone (the release's venv runs it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import socketio

WAIT_SECONDS = 10.0


async def probe(listener_url: str, sender_url: str, token: str, chat_id: str) -> dict[str, Any]:
    listener, sender = socketio.AsyncClient(), socketio.AsyncClient()
    received = asyncio.Event()

    @listener.on("events")  # type: ignore[untyped-decorator]
    async def on_event(data: dict[str, Any]) -> None:
        if data.get("chat_id") == chat_id and data.get("data", {}).get("type") == "typing":
            received.set()

    result: dict[str, Any] = {"joined": [False, False], "received": False, "seconds": None, "error": None}
    try:
        for i, (client, url) in enumerate(((listener, listener_url), (sender, sender_url))):
            await client.connect(url, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": token},
                                 wait_timeout=10)
            ack = await client.call("events:chat", {"chat_id": chat_id, "data": {"type": "join"}}, timeout=10)
            result["joined"][i] = ack is True
        start = time.monotonic()
        await sender.call("events:chat", {"chat_id": chat_id, "data": {"type": "typing", "data": {"typing": True}}},
                          timeout=10)
        try:
            await asyncio.wait_for(received.wait(), WAIT_SECONDS)
            result.update(received=True, seconds=round(time.monotonic() - start, 3))
        except asyncio.TimeoutError:
            pass
    except Exception as e:  # a refused connection or a missing ack is the answer, not a crash
        result["error"] = f"{type(e).__name__}: {e}"
    finally:
        for client in (listener, sender):
            if client.connected:
                await client.disconnect()
    return result


def main(argv: list[str]) -> int:
    print(json.dumps(asyncio.run(probe(*argv[:4]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
