"""The audit's revocation check (IoT-1005-1 5.1.2.1): the installed machinery cuts within 1 s,
and a stream that outlived the withdrawal of its grant in the device's log fails the clause."""

from __future__ import annotations

import re
import time

from vigilcam.app import Device
from vigilcam.compliance.checks_revocation import history, self_test
from vigilcam.compliance.model import Verdict


def test_the_installed_machinery_cuts_within_a_second() -> None:
    t0 = time.monotonic()
    result = self_test()
    assert result.verdict == Verdict.PASS, result.evidence
    assert "another connection" in result.evidence[0]
    assert time.monotonic() - t0 < 5  # bounded


def _view(device: Device, user: str, viewing_id: str, kind: str = "web-live") -> None:
    device.record("video.view_started", user=user, source="127.0.0.1", kind=kind,
                  stream="main", viewing_id=viewing_id)


def _ended(device: Device, user: str, viewing_id: str, kind: str = "web-live") -> None:
    device.record("video.view_ended", user=user, source="127.0.0.1", kind=kind,
                  stream="main", viewing_id=viewing_id, seconds=1.0, reason="x")


def test_history_passes_prompt_ends_and_fails_a_stream_that_outlived_a_disable(
        device: Device) -> None:
    log_file = device.seclog.current_file
    assert history(log_file).verdict == Verdict.PASS  # nothing withdrawn yet
    _view(device, "ann", "v1")
    _view(device, "ann", "v2", kind="rtsps")
    _view(device, "ben", "v3")
    device.record("auth.logout_all", user="ann", source="127.0.0.1", sessions=1)
    _ended(device, "ann", "v1")  # the web stream ended at once; RTSPS is not session-bound
    ok = history(log_file)
    assert ok.verdict == Verdict.PASS, ok.evidence
    assert "1 withdrawal(s) of a grant, 1 open stream(s)" in ok.evidence[0]
    device.record("user.disabled", user="admin", source="127.0.0.1", target="ann")
    time.sleep(1.2)
    _ended(device, "ann", "v2", kind="rtsps")  # as the old code did: 1.2 s later
    bad = history(log_file)
    assert bad.verdict == Verdict.FAIL
    # 1.2 s or a little more on a loaded machine: more than the 1 s the clause allows
    assert any(re.search(r"rtsps viewer v2 of ann: ended 1\.[2-9] s later after "
                         r"user\.disabled", e) for e in bad.evidence), bad.evidence
    assert bad.todo
    assert not any("v3" in e for e in bad.evidence)  # ben was never withdrawn
