"""Starts and stops what the ONVIF edge runs in the background: the event hub and discovery.

Owns the ONVIF edge's lifetime inside ``Runtime``. Serves IoT-1005-1 5.2.2.1 (WS-Discovery
listens on UDP 3702 only when both ONVIF and discovery are turned on) and TAICS 5.1.2.1
(tamper and motion events of the security log reach ONVIF subscribers).
"""

from __future__ import annotations

import asyncio
import contextlib

from .edge import OnvifEdge
from .pullpoint import EventHub


def start_events(edge: OnvifEdge, active_tamper: str | None) -> EventHub:
    """The event hub, fed from the security log (the one path of every event)."""
    device = edge.device
    hub = EventHub(device.settings.onvif.subscriptions_per_user)
    hub.bind(asyncio.get_running_loop())
    hub.preset_tamper(active_tamper)
    device.seclog.subscribe(lambda event, _persisted: hub.offer(event.action, event.details))
    edge.events = hub
    return hub


async def start_discovery(edge: OnvifEdge, stack: contextlib.AsyncExitStack) -> None:
    state = edge.switch.current()
    if not (state.enabled and state.discovery):
        return
    from .discovery import DiscoveryResponder

    responder = DiscoveryResponder(edge.device)
    await responder.start()
    stack.callback(responder.stop)
