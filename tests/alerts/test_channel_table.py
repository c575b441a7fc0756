"""The channel kinds are one table (kind -> parse, build, vault secret, destination).

Every kind stores only a redacted URL that parses again to the same destination (the guard
checks the stored channel before each delivery, IoT-1005-1 5.4.2.1), a secret never reaches
the stored URL (5.4.1.2), and an unknown kind is refused with the list of kinds (5.5.2.1).
"""

from __future__ import annotations

import pytest

from vigilcam.alerts.channels import CHANNEL_KINDS, KINDS, destination_of, kind_of
from vigilcam.alerts.channels.base import Delivery
from vigilcam.alerts.outbox import ChannelRow

TOKEN = "Zq8vT3kLm0pX"
OWNER_URLS = {
    "webhook": ("https://hooks.example.org:8443/vigilcam?x=1", ("hooks.example.org", 8443)),
    "email": ("smtps://cam@mail.example.org?to=owner@example.org", ("mail.example.org", 465)),
    "mqtt": ("mqtts://cam@broker.example.org/home/cam", ("broker.example.org", 8883)),
    "ntfy": ("https://ntfy.example.org/cam_alerts", ("ntfy.example.org", 443)),
    "apprise": (f"jsons://push.example.org:8443/hook/{TOKEN}", ("push.example.org", 8443)),
}


def test_the_table_names_every_kind_once() -> None:
    assert set(KINDS) == set(OWNER_URLS) and len(KINDS) == len(set(KINDS))
    assert all(CHANNEL_KINDS[k].name == k for k in KINDS)
    with pytest.raises(ValueError, match="unknown channel kind 'pager' \\(use webhook, email"):
        kind_of("pager")


@pytest.mark.parametrize("kind", sorted(OWNER_URLS))
def test_stored_url_is_redacted_and_leads_to_the_same_destination(kind: str) -> None:
    url, destination = OWNER_URLS[kind]
    spec = kind_of(kind)
    target = spec.parse(url)
    assert TOKEN not in target.url
    secret = url.encode() if spec.secret == "url" else None
    row = ChannelRow("ch_1", kind, target.url, {}, frozenset(), "")
    assert destination_of(row, secret) == destination
    assert spec.parse(target.url).url == target.url or spec.secret == "url"


async def test_build_makes_a_sender_from_the_stored_row() -> None:
    for kind, (url, _) in OWNER_URLS.items():
        spec = kind_of(kind)
        stored = spec.parse(url).url
        secret = {"hmac": b"whsec_x", "url": url.encode(), "password": b"pw"}[spec.secret]
        sender = spec.build(Delivery(stored, secret, None, "dev-1", "ch_1", None))
        assert callable(sender.send)
        await sender.close()
