"""The remote audit's ONVIF probe (IoT-1005-1 5.1.1.3): against vigilcam with ONVIF on and the
owner's ONVIF credential, anonymous calls, a replayed envelope and a stale Created are all
refused and the clause passes; the judge fails a camera that accepts a replay or a stale
Created, and says what to do when it could not try."""

from __future__ import annotations

import asyncio

from tests.onvif.onvif_support import https_server, secrets_of
from vigilcam.compliance.model import Verdict
from vigilcam.compliance.remote import RemoteFacts, Target
from vigilcam.compliance.remote_judge import access_needs_authentication, onvif_replay
from vigilcam.compliance.remote_onvif import OnvifSeen, probe_onvif


async def test_vigilcam_onvif_refuses_anonymous_replayed_and_stale_requests(onvif_device):
    secret = secrets_of(onvif_device)["ha"]
    async with https_server(onvif_device) as port:
        target = Target("127.0.0.1", port)

        def probes() -> tuple[OnvifSeen, OnvifSeen, OnvifSeen]:
            return (probe_onvif(target, [], owner=True, credential=("ha", secret)),
                    probe_onvif(target, [], owner=False, credential=None),
                    probe_onvif(target, [], owner=True, credential=("ha", "wrong")))

        seen, anonymous, bad_cred = await asyncio.to_thread(probes)
    facts = RemoteFacts(target, owner=True, onvif=seen)
    assert seen.endpoints == [f"https://127.0.0.1:{port}/onvif/device_service"]
    assert seen.anonymous == [] and seen.plaintext_ports == []
    assert (seen.credential_accepted, seen.replay_accepted, seen.stale_accepted) == (
        True, False, False)
    result = onvif_replay(facts)
    assert result.verdict == Verdict.PASS, result.evidence
    assert access_needs_authentication(facts).verdict == Verdict.PASS
    not_owner = onvif_replay(RemoteFacts(target, owner=False, onvif=anonymous))
    assert not_owner.verdict == Verdict.NOT_TESTED and "--i-own-this-device" in not_owner.todo
    refused = onvif_replay(RemoteFacts(target, owner=True, onvif=bad_cred))
    assert refused.verdict == Verdict.NOT_TESTED and "refused" in " ".join(refused.evidence)


def test_judge_fails_replay_and_stale_acceptance():
    target = Target("192.0.2.7", 443)
    seen = OnvifSeen(endpoints=["https://192.0.2.7:443/onvif/device_service"],
                     credential_accepted=True, replay_accepted=True, stale_accepted=True)
    result = onvif_replay(RemoteFacts(target, owner=True, onvif=seen))
    assert result.verdict == Verdict.FAIL and result.todo
    text = " ".join(result.evidence)
    assert "accepted twice" in text and "10 minutes old" in text
    none = onvif_replay(RemoteFacts(target, owner=False, onvif=OnvifSeen()))
    assert none.verdict == Verdict.PASS
