"""Email channel: SMTP with implicit TLS (smtps) or mandatory STARTTLS, via aiosmtplib.

Owns the alert email. Serves IoT-1005-1 5.8.1.1 (alert with the device ID to the owner),
5.4.2.1 / 5.4.2.2 (the message and the SMTP password only inside TLS >= 1.2; plain SMTP and
opportunistic STARTTLS are refused). The password comes from the vault.
"""

from __future__ import annotations

import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, quote, unquote

import aiosmtplib

from vigilcam.alerts.channels import base
from vigilcam.alerts.evidence import Attachment, Attachments
from vigilcam.alerts.rules import Alert

_EMAIL = re.compile(r"^[^@\s,<>]{1,64}@[A-Za-z0-9.-]{1,253}$")


def parse(url: str) -> base.Target:
    """smtps:// (implicit TLS) or smtp+starttls:// (STARTTLS required), ?to= and ?from=."""
    parts = base.split_url(url)
    scheme = parts.scheme.lower()
    user = unquote(parts.username) if parts.username else None
    if scheme == "smtps":
        mode, default_port = "tls", 465
    elif scheme in ("smtp+starttls", "smtp"):
        if scheme == "smtp":
            raise ValueError("plain smtp:// is refused; use smtps:// (implicit TLS) or "
                             "smtp+starttls:// (STARTTLS required)")
        mode, default_port = "starttls", 587
    else:
        raise ValueError("an email URL is smtps://user@host:465?to=owner@example.org or "
                         "smtp+starttls://user@host:587?to=...")
    host, port = base.host_port(parts, default_port)
    args = parse_qs(parts.query)
    to = [a.strip() for v in args.get("to", []) for a in v.split(",") if a.strip()]
    if not to:
        raise ValueError("an email URL needs ?to=address (comma-separated for several)")
    sender = (args.get("from") or [f"vigilcam@{host}"])[0]
    for address in [*to, sender]:
        if not _EMAIL.match(address):
            raise ValueError(f"not an email address: {address!r}")
    if len(to) > 20:
        raise ValueError("at most 20 recipients")
    user_part = f"{quote(user, safe='')}@" if user else ""
    q = "to=" + ",".join(to) + (f"&from={sender}" if "from" in args else "")
    shown = f"{scheme}://{user_part}{base.netloc(host, port, default_port)}?{q}"
    return base.Target("email", shown, host, port, user, "", {"mode": mode, "to": to,
                                                              "from": sender})


def build_message(target: base.Target, alert: Alert,
                  attachments: list[Attachment] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = target.extra["from"]
    msg["To"] = ", ".join(target.extra["to"])
    msg["Subject"] = f"[{alert.model} {alert.serial}] {alert.summary}"[:200]
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=alert.alert_id[:16], domain="vigilcam.invalid")
    msg["X-Vigilcam-Device-Id"] = alert.device_id
    msg["X-Vigilcam-Alert-Id"] = alert.alert_id
    msg.set_content(base.text_body(alert) + "\n" + alert.to_json() + "\n")
    for item in attachments or []:
        msg.add_attachment(item.data, maintype=item.maintype, subtype=item.subtype,
                           filename=item.filename)
    return msg


class EmailSender:
    def __init__(self, target: base.Target, password: bytes | None, ctx: ssl.SSLContext,
                 attachments: Attachments | None = None) -> None:
        self.target, self._ctx, self._attachments = target, ctx, attachments
        self._password = password.decode() if password else None
        if target.username and self._password is None:
            raise base.ChannelError("email channel has a user name but no password in the vault")

    async def send(self, alert: Alert) -> None:
        implicit = self.target.extra["mode"] == "tls"
        try:
            await aiosmtplib.send(
                build_message(self.target, alert,
                              self._attachments(alert) if self._attachments else None),
                hostname=self.target.host, port=self.target.port,
                username=self.target.username, password=self._password,
                use_tls=implicit, start_tls=None if implicit else True,
                tls_context=self._ctx, timeout=base.SEND_TIMEOUT_S,
            )
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise base.delivery_failed(f"email via {self.target.host}", exc) from None

    async def close(self) -> None:
        return None


def build(delivery: base.Delivery) -> EmailSender:
    return EmailSender(parse(delivery.stored_url), delivery.secret,
                       base.tls_context(delivery.ca_pem), delivery.attachments)


KIND = base.ChannelKind("email", parse, build)
