"""ONVIF Events service (ver10): properties, pull-point subscriptions and their messages.

Owns the answers of ``/onvif/events_service`` and ``/onvif/subscription/{id}``. Serves TAICS
5.1.2.1 (tamper raised and cleared reach ONVIF subscribers) and IoT-1005-1 5.6.1.1 (bounded:
subscriptions per user, PullMessages wait and MessageLimit are capped; subscriptions expire).
Base notification (Subscribe with a consumer URL) is not offered: the camera would have to
open connections to addresses a client names; clients use pull points.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigilcam.auth.permissions import Permission as P
from vigilcam.platform.events import Event

from .context import Call, Operation
from .durations import parse_duration
from .pullpoint import (
    DEFAULT_TERMINATION_S,
    EventHub,
    Subscription,
    SubscriptionError,
    termination_seconds,
)
from .soap import NS, SoapFault, esc
from .topics import topic_set_xml

SUBSCRIPTION_PATH = "/onvif/subscription/"


def hub_of(call: Call) -> EventHub:
    hub = call.events
    if hub is None:
        raise SoapFault("Receiver", ("ter:Action", "ter:EventsUnavailable"),
                        "events are not available", 500)
    return hub


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _times(sub: Subscription, hub: EventHub) -> tuple[str, str]:
    now = datetime.now(UTC)
    term = now + timedelta(seconds=max(0.0, sub.expires - hub.clock()))
    return _time(now), _time(term)


def events_service_capabilities() -> str:
    return ('<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" '
            'WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="0" '
            'MaxPullPoints="4" PersistentNotificationStorage="false"/>')


async def get_service_capabilities(call: Call) -> str:
    return ("<tev:GetServiceCapabilitiesResponse>"
            f"{events_service_capabilities()}</tev:GetServiceCapabilitiesResponse>")


async def get_event_properties(call: Call) -> str:
    return (
        "<tev:GetEventPropertiesResponse>"
        "<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml"
        "</tev:TopicNamespaceLocation><wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>"
        f"{topic_set_xml()}"
        "<wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
        "</wsnt:TopicExpressionDialect><wsnt:TopicExpressionDialect>"
        "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete</wsnt:TopicExpressionDialect>"
        "<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/"
        "ItemFilter</tev:MessageContentFilterDialect>"
        "<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd"
        "</tev:MessageContentSchemaLocation></tev:GetEventPropertiesResponse>"
    )


def _termination(text: str | None) -> float:
    try:
        return termination_seconds(text, datetime.now(UTC), DEFAULT_TERMINATION_S)
    except ValueError:
        raise SoapFault("Sender", ("ter:InvalidArgVal",), "malformed termination time") from None


def _refused(exc: SubscriptionError) -> SoapFault:
    if exc.kind == "limit":
        return SoapFault("Receiver", ("ter:Action", "ter:TooManySubscriptions"), str(exc), 500)
    if exc.kind == "forbidden":
        return SoapFault("Sender", ("ter:NotAuthorized",), str(exc), 400)
    return SoapFault("Sender", ("ter:InvalidArgVal", "ter:NoSubscription"), str(exc), 400)


async def create_pull_point_subscription(call: Call) -> str:
    assert call.caller is not None
    hub = hub_of(call)
    # A Filter is accepted but not applied: every topic of this camera is sent (five topics).
    seconds = _termination(call.request.body.findtext(f"{{{NS['tev']}}}InitialTerminationTime"))
    try:
        sub = hub.create(call.caller.username, seconds)
    except SubscriptionError as exc:
        raise _refused(exc) from None
    call.device.record(Event.ONVIF_SUBSCRIBED, user=call.caller.username,
                       source=call.caller.source, subscription=sub.sub_id[:8])
    now, term = _times(sub, hub)
    address = call.base_url + SUBSCRIPTION_PATH + sub.sub_id
    return ("<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
            f"<wsa:Address>{esc(address)}</wsa:Address></tev:SubscriptionReference>"
            f"<wsnt:CurrentTime>{now}</wsnt:CurrentTime><wsnt:TerminationTime>{term}"
            "</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>")


def _subscription(call: Call) -> tuple[EventHub, Subscription]:
    assert call.caller is not None
    hub = hub_of(call)
    try:
        return hub, hub.get(call.path_tail, call.caller.username)
    except SubscriptionError as exc:
        raise _refused(exc) from None


async def pull_messages(call: Call) -> str:
    hub, sub = _subscription(call)
    body = call.request.body
    try:
        timeout = parse_duration(body.findtext(f"{{{NS['tev']}}}Timeout") or "PT10S")
        limit = int((body.findtext(f"{{{NS['tev']}}}MessageLimit") or "100").strip())
    except ValueError:
        raise SoapFault("Sender", ("ter:InvalidArgVal",), "malformed Timeout or MessageLimit") \
            from None
    notes = await hub.pull(sub, max(0.0, timeout.total_seconds()), limit)
    now, term = _times(sub, hub)
    address = call.base_url + SUBSCRIPTION_PATH + sub.sub_id
    messages = "".join(n.xml(address) for n in notes)
    return (f"<tev:PullMessagesResponse><tev:CurrentTime>{now}</tev:CurrentTime>"
            f"<tev:TerminationTime>{term}</tev:TerminationTime>{messages}"
            "</tev:PullMessagesResponse>")


async def set_synchronization_point(call: Call) -> str:
    hub, sub = _subscription(call)
    hub.synchronize(sub)
    return "<tev:SetSynchronizationPointResponse/>"


async def renew(call: Call) -> str:
    hub, sub = _subscription(call)
    hub.renew(sub, _termination(call.request.body.findtext(f"{{{NS['wsnt']}}}TerminationTime")))
    now, term = _times(sub, hub)
    return (f"<wsnt:RenewResponse><wsnt:TerminationTime>{term}</wsnt:TerminationTime>"
            f"<wsnt:CurrentTime>{now}</wsnt:CurrentTime></wsnt:RenewResponse>")


async def unsubscribe(call: Call) -> str:
    hub, sub = _subscription(call)
    hub.end(sub)
    return "<wsnt:UnsubscribeResponse/>"


OPERATIONS: dict[str, Operation] = {
    "GetServiceCapabilities": Operation(get_service_capabilities, P.VIEW_LIVE),
    "GetEventProperties": Operation(get_event_properties, P.VIEW_LIVE),
    "CreatePullPointSubscription": Operation(create_pull_point_subscription, P.VIEW_LIVE),
}

SUBSCRIPTION_OPERATIONS: dict[tuple[str, str], Operation] = {
    (NS["tev"], "PullMessages"): Operation(pull_messages, P.VIEW_LIVE),
    (NS["tev"], "SetSynchronizationPoint"): Operation(set_synchronization_point, P.VIEW_LIVE),
    (NS["wsnt"], "Renew"): Operation(renew, P.VIEW_LIVE),
    (NS["wsnt"], "Unsubscribe"): Operation(unsubscribe, P.VIEW_LIVE),
}
