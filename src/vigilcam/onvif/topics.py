"""ONVIF event topics from the camera's security events: names, properties and messages.

Owns which security-log events become which ONVIF notifications, in the topic names and items
Home Assistant's parsers (onvif-parsers) read. Pure. Serves TAICS 5.1.2.1 (a covered,
defocused or moved lens reaches the owner's home automation as well as the alert channels).

Each topic is an ONVIF *property* (ONVIF Core 9.2): subscribers first get its current value
with ``PropertyOperation="Initialized"`` (on subscribe and on SetSynchronizationPoint), then a
``Changed`` message each time it changes. Values are ``true``/``false`` in lower case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vigilcam.platform.events import TAMPER_EVENTS, Event

from .soap import attr, esc

VIDEO_SOURCE = "vs_main"
VIDEO_SOURCE_CONF = "vsc_main"
ANALYTICS_CONF = "vac_main"


@dataclass(frozen=True)
class Topic:
    name: str  # as written in wsnt:Topic, tns1-prefixed
    source: tuple[tuple[str, str], ...]
    data_item: str
    description: str


_RULE_SOURCE = (("VideoSourceConfigurationToken", VIDEO_SOURCE_CONF),
                ("VideoAnalyticsConfigurationToken", ANALYTICS_CONF))

MOTION = Topic("tns1:RuleEngine/CellMotionDetector/Motion",
               (*_RULE_SOURCE, ("Rule", "MotionDetectorRule")), "IsMotion", "motion")
TAMPER = Topic("tns1:RuleEngine/TamperDetector/Tamper",
               (*_RULE_SOURCE, ("Rule", "TamperDetectorRule")), "IsTamper", "any tamper")
COVERED = Topic("tns1:VideoSource/ImageTooDark/AnalyticsService",
                (("Source", VIDEO_SOURCE),), "State", "lens covered")
DEFOCUSED = Topic("tns1:VideoSource/ImageTooBlurry/AnalyticsService",
                  (("Source", VIDEO_SOURCE),), "State", "lens defocused")
MOVED = Topic("tns1:VideoSource/GlobalSceneChange/AnalyticsService",
              (("Source", VIDEO_SOURCE),), "State", "camera moved")

TOPICS: tuple[Topic, ...] = (MOTION, TAMPER, COVERED, DEFOCUSED, MOVED)
TAMPER_KINDS = {"covered": COVERED, "defocused": DEFOCUSED, "moved": MOVED}
TAMPER_TOPICS: dict[str, Topic] = {TAMPER_EVENTS[kind]: topic
                                   for kind, topic in TAMPER_KINDS.items()}
"""The security event of each tamper topic (``tamper.covered`` -> ImageTooDark ...)."""
EVENTS: frozenset[str] = frozenset({Event.MOTION_STARTED, Event.MOTION_ENDED, *TAMPER_TOPICS})
"""The security events that change an ONVIF property."""


def changes_for(action: str, details: dict[str, object],
                state: dict[str, bool]) -> dict[str, bool]:
    """The property values a security event changes, given the current ``state``
    (topic name -> value). Unrelated events give ``{}``."""
    out: dict[str, bool] = {}
    if action == Event.MOTION_STARTED:
        out[MOTION.name] = True
    elif action == Event.MOTION_ENDED:
        out[MOTION.name] = False
    elif action in TAMPER_TOPICS:
        topic = TAMPER_TOPICS[action]
        raised = details.get("phase") == "raised"
        out[topic.name] = raised
        others = any(state.get(t.name, False) for k, t in TAMPER_KINDS.items()
                     if t is not topic)
        out[TAMPER.name] = raised or others
    return {k: v for k, v in out.items() if state.get(k, False) != v}


@dataclass(frozen=True)
class Notification:
    topic: Topic
    value: bool
    operation: str  # "Initialized" | "Changed"
    at: datetime

    def xml(self, subscription_address: str) -> str:
        """One wsnt:NotificationMessage (tt:Message per ONVIF Core 9.1)."""
        source = "".join(f"<tt:SimpleItem Name={attr(n)} Value={attr(v)}/>"
                         for n, v in self.topic.source)
        utc = self.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.at.microsecond // 1000:03d}Z"
        value = "true" if self.value else "false"
        return (
            "<wsnt:NotificationMessage>"
            f"<wsnt:SubscriptionReference><wsa:Address>{esc(subscription_address)}"
            "</wsa:Address></wsnt:SubscriptionReference>"
            '<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
            f"{esc(self.topic.name)}</wsnt:Topic>"
            f"<wsnt:Message><tt:Message UtcTime={attr(utc)} "
            f"PropertyOperation={attr(self.operation)}>"
            f"<tt:Source>{source}</tt:Source>"
            f"<tt:Data><tt:SimpleItem Name={attr(self.topic.data_item)} Value={attr(value)}/>"
            "</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>"
        )


def topic_set_xml() -> str:
    """The wstop:TopicSet of GetEventProperties: every topic with its message description."""
    tree: dict[str, dict[str, dict[str, Topic]]] = {}
    for t in TOPICS:
        a, b, c = t.name.removeprefix("tns1:").split("/")
        tree.setdefault(a, {}).setdefault(b, {})[c] = t
    out = []
    for a, level_b in tree.items():
        inner_b = []
        for b, level_c in level_b.items():
            inner_c = []
            for c, t in level_c.items():
                items = "".join(
                    f'<tt:SimpleItemDescription Name={attr(n)} Type="tt:ReferenceToken"/>'
                    for n, _ in t.source)
                inner_c.append(
                    f'<{c} wstop:topic="true"><tt:MessageDescription IsProperty="true">'
                    f"<tt:Source>{items}</tt:Source><tt:Data>"
                    f'<tt:SimpleItemDescription Name={attr(t.data_item)} Type="xs:boolean"/>'
                    f"</tt:Data></tt:MessageDescription></{c}>")
            inner_b.append(f"<{b}>{''.join(inner_c)}</{b}>")
        out.append(f"<tns1:{a}>{''.join(inner_b)}</tns1:{a}>")
    return ('<wstop:TopicSet xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            + "".join(out) + "</wstop:TopicSet>")
