"""Attackers are parallel: over the real HTTPS listener, 40 copies of one captured envelope
sent at once get exactly one answer (the replay cache is checked and filled atomically after
the digest verifies), and 60 concurrent wrong-password guesses are throttled by the one login
procedure like web logins (IoT-1005-1 5.1.1.3, 5.1.2.2)."""

from __future__ import annotations

import asyncio

import httpx

from tests.onvif.onvif_support import SOAP, envelope, https_server, secrets_of, token

INFO = "<tds:GetDeviceInformation/>"


async def _blast(port: int, bodies: list[bytes]) -> list[httpx.Response]:
    # Below the listener's per-address budget (32 open connections): more would be reset
    # before TLS by the connection budget, not judged by ONVIF.
    limits = httpx.Limits(max_connections=min(len(bodies), 24))
    async with httpx.AsyncClient(verify=False, timeout=60, limits=limits) as client:  # noqa: S501
        return await asyncio.gather(*[
            client.post(f"https://127.0.0.1:{port}/onvif/device_service", content=b,
                        headers={"Content-Type": SOAP}) for b in bodies])


async def test_concurrent_replays_of_one_envelope_get_exactly_one_answer(onvif_device):
    secret = secrets_of(onvif_device)["ha"]
    captured = envelope(INFO, token("ha", secret))
    async with https_server(onvif_device) as port:
        answers = await _blast(port, [captured] * 40)
    served = [r for r in answers if r.status_code == 200]
    assert len(served) == 1, [r.status_code for r in answers]
    assert all("ter:NotAuthorized" in r.text for r in answers if r.status_code != 200)


async def test_concurrent_guesses_are_throttled(onvif_device):
    secret = secrets_of(onvif_device)["ha"]
    guesses = [envelope(INFO, token("ha", f"guess-{i}")) for i in range(60)]
    async with https_server(onvif_device) as port:
        answers = await _blast(port, guesses)
        throttled = [r for r in answers if "too many failed logins" in r.text]
        assert len(throttled) >= 40, len(throttled)
        assert all(r.status_code == 400 for r in answers)
        after = await _blast(port, [envelope(INFO, token("ha", secret))])
    assert "too many failed logins" in after[0].text
