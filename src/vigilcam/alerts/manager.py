"""Alert channel administration: add, remove, list with status, and the test alert.

Owns the channel life cycle shared by the CLI, the web API and the running service. Serves
IoT-1005-1 5.8.1.1 (the owner configures where alerts go and can test it), 5.4.1.2 (channel
secrets only in the vault, never in the alerts database or a log) and TAICS 5.2.8.1 (every
channel change is a security event).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import ssl
import time
from typing import Any

from vigilcam import product
from vigilcam.alerts.channels import SEND_TIMEOUT_S, ChannelError, build_sender, kind_of
from vigilcam.alerts.evidence import tamper_pictures
from vigilcam.alerts.outbox import ChannelRow, Outbox, StoreError
from vigilcam.alerts.ports import AlertDevice
from vigilcam.alerts.rules import (
    OPTIONAL_CATEGORIES,
    TEST,
    Alert,
    Trigger,
    make_alert,
)
from vigilcam.platform.egress import check_destination
from vigilcam.platform.events import Event
from vigilcam.platform.seclog import SecurityEvent, utc_timestamp
from vigilcam.platform.tls import client_context

VAULT_PREFIX = "alert_channel:"
_TEST_TRIGGER = Trigger("test", TEST, "info", 1, 0.0, (), "Test alert")


def vault_name(channel_id: str) -> str:
    return f"{VAULT_PREFIX}{channel_id}"


def now_iso() -> str:
    return utc_timestamp(dt.datetime.now(dt.UTC))


class ChannelManager:
    """Channel rows in the outbox database plus their secrets in the vault."""

    def __init__(self, device: AlertDevice, outbox: Outbox) -> None:
        self.device = device
        self.outbox = outbox
        self.attachments = tamper_pictures(device)

    # -- add / remove ------------------------------------------------------------------------
    def add_channel(
        self, kind: str, url: str, *, password: str | None = None,
        categories: list[str] | tuple[str, ...] = (), ca_pem: str | None = None,
        by: str = "cli", source: str = "cli", allow_local: bool = False,
    ) -> tuple[str, str | None]:
        """Validate and store a channel; returns (channel_id, secret shown once or None).

        Webhook channels get a fresh HMAC key, returned once for the receiver's configuration.
        ``password`` is the SMTP/MQTT password or the ntfy access token. ``allow_local``: the
        owner explicitly allows a destination on this device or link-local (see
        ``vigilcam.platform.egress``); it is shown with the channel.
        """
        spec = kind_of(kind)
        target = spec.parse(url)
        host, port = spec.destination(target.url, url.encode() if spec.secret == "url" else None)
        check_destination(host, port, allow_local=allow_local)
        unknown = set(categories) - OPTIONAL_CATEGORIES
        if unknown:
            raise ValueError(f"unknown optional categories {sorted(unknown)}; choose from "
                             f"{sorted(OPTIONAL_CATEGORIES)} (the others are always on)")
        if ca_pem is not None:
            if len(ca_pem) > 65536:
                raise ValueError("the CA certificate is too large")
            try:
                client_context(cadata=ca_pem)
            except (ssl.SSLError, ValueError):
                raise ValueError("the CA file is not a PEM certificate") from None
        if password is not None and not 0 < len(password) <= 1024:
            raise ValueError("the password must be 1 to 1024 characters")
        if spec.secret == "hmac" and password is not None:
            raise ValueError("a webhook takes no password: its HMAC key is generated")
        if spec.secret == "url" and (password is not None or ca_pem is not None):
            raise ValueError("an apprise channel takes its token inside the URL and uses the "
                             "system's trusted CAs; give no password or CA file")
        if target.username and password is None:
            raise ValueError(f"{target.username}@{target.host} needs a password "
                             "(give it with --password-stdin)")
        channel_id = "ch_" + secrets.token_hex(6)
        shown: str | None = None
        secret: bytes | None = None
        if spec.secret == "hmac":
            shown = "whsec_" + secrets.token_urlsafe(32)
            secret = shown.encode()
        elif spec.secret == "url":
            secret = url.encode()  # the URL carries the service token: vault only
        elif password is not None:
            secret = password.encode()
        options: dict[str, Any] = {}
        if ca_pem is not None:
            options["ca_pem"] = ca_pem
        if allow_local:
            options["allow_local"] = True
        row = ChannelRow(channel_id, kind, target.url, options, frozenset(categories),
                         now_iso())
        if secret is not None:
            self.device.vault.put(vault_name(channel_id), secret)
        try:
            self.outbox.add_channel(row)
        except Exception:
            if secret is not None:
                self.device.vault.delete(vault_name(channel_id))
            raise
        self.device.record(Event.ALERTS_CHANNEL_ADDED, user=by, source=source,
                           channel_id=channel_id, kind=kind, target_host=target.host,
                           categories=sorted(categories))
        return channel_id, shown

    def remove_channel(self, channel_id: str, *, by: str = "cli", source: str = "cli") -> bool:
        pending = self.outbox.remove_channel(channel_id)
        if pending is None:
            return False
        self.device.vault.delete(vault_name(channel_id))
        # Pending alerts of a removed channel are dropped on the owner's order, and said so.
        self.device.record(Event.ALERTS_CHANNEL_REMOVED, user=by, source=source,
                           channel_id=channel_id, pending_dropped=pending)
        return True

    # -- status ------------------------------------------------------------------------------
    def list_channels(self, memory_pending: dict[str, int] | None = None) -> list[dict[str, Any]]:
        out = []
        now = time.time()
        for row in self.outbox.channels():
            st = self.outbox.status(row.id)
            extra = (memory_pending or {}).get(row.id, 0)
            out.append({
                **row.public(),
                "last_success": st.last_success,
                "last_error": st.last_error,
                "last_error_at": st.last_error_at,
                "pending": st.pending + extra,
                "oldest_pending_age_s": round(now - st.oldest_pending, 1)
                if st.oldest_pending else None,
                "failing": st.failing,
                "delivered": st.delivered,
            })
        return out

    def secret_of(self, channel_id: str) -> bytes | None:
        name = vault_name(channel_id)
        # The vault re-reads its file when another process (the CLI) replaced it.
        return self.device.vault.find(name)

    def sender_for(self, row: ChannelRow) -> Any:
        return build_sender(row, self.secret_of(row.id), self.device.identity.device_id,
                            self.attachments)

    # -- test alert --------------------------------------------------------------------------
    def test_alert(self, by: str | None, source: str | None) -> Alert:
        event = SecurityEvent(seq=0, ts=now_iso(), device_id=self.device.identity.device_id,
                              action=Event.ALERTS_TEST, result="ok", user=by, source=source)
        return make_alert(event, _TEST_TRIGGER, self.device.identity.device_id, product.MODEL,
                          self.device.identity.serial)

    async def send_test(self, channel_id: str | None = None, *, by: str = "cli",
                        source: str = "cli") -> list[dict[str, Any]]:
        """Send a test alert now (not queued) and say per channel whether it arrived."""
        rows = self.outbox.channels()
        if channel_id is not None:
            rows = [r for r in rows if r.id == channel_id]
            if not rows:
                raise KeyError(f"no alert channel {channel_id!r}")
        alert = self.test_alert(by, source)
        results = await asyncio.gather(*(self._test_one(row, alert) for row in rows))
        self.device.record(Event.ALERTS_TEST_SENT, user=by, source=source,
                           channels=len(results), ok=sum(1 for r in results if r["ok"]))
        return list(results)

    async def _test_one(self, row: ChannelRow, alert: Alert) -> dict[str, Any]:
        started = time.perf_counter()
        error: str | None = None
        try:
            sender = self.sender_for(row)
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S + 5):
                    await sender.send(alert)
            finally:
                await sender.close()
        except (ChannelError, ValueError) as exc:
            error = str(exc)
        except TimeoutError:
            error = "timed out"
        except Exception as exc:  # noqa: BLE001 - report any sender failure as the result
            error = f"{type(exc).__name__}: {exc}"
        ms = round((time.perf_counter() - started) * 1000, 1)
        with contextlib.suppress(*StoreError):  # status is best effort; the result is returned
            self.outbox.note_test(row.id, error, now_iso())
        return {"channel_id": row.id, "kind": row.kind, "ok": error is None, "error": error,
                "ms": ms, "alert_id": alert.alert_id}
