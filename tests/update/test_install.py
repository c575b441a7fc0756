"""End to end: signed release -> HTTPS -> TUF -> decrypt -> inactive slot -> health -> switch.

IoT-1005-1 5.3.1.1 (a broken new version is rolled back and the old one keeps running),
5.3.1.2 (refusals are security events), 5.3.1.3 (status), TAICS 5.1.4.1 (the new slot's code
must match its signed manifest before the device switches to it). The health check really
boots the slot's ``vigilcam run`` and fetches its login page over HTTPS.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support import read_log
from tests.update.helpers import package_copy, release_tar, write_code_key
from vigilcam.update.config import UpdateConfig
from vigilcam.update.errors import RefusalKind, UpdateError
from vigilcam.update.health import SmokeBootCheck
from vigilcam.update.manifest import write_signed_manifest
from vigilcam.update.package import build_tar
from vigilcam.update.service import UpdateService
from vigilcam.update.slots import HealthResult


class Events(list):
    def __call__(self, action, **kw):
        self.append((action, kw))

    def actions(self):
        return [a for a, _ in self]


def test_install_switch_and_status_with_events_in_the_security_log(
        tmp_path, repo, make_service, code_key, device):
    repo.publish("0.2.0", release_tar(tmp_path / "build", "0.2.0", code_key))
    service = make_service(device.paths.root, device.record)
    assert service.check().version == "0.2.0"
    assert service.status()["available_version"] == "0.2.0"

    outcome = service.install()

    assert outcome.result == "installed" and outcome.slot == "slot_a"
    assert "answered HTTPS" in outcome.detail and "0.2.0" in outcome.detail
    assert service.slots.current_slot() == "slot_a"
    assert (tmp_path / "opt" / "current").resolve() == (tmp_path / "opt" / "slot_a").resolve()
    status = service.status()
    assert status["current_version"] == "0.1.0"  # the running code; 0.2.0 after the restart
    assert status["last_install"]["result"] == "installed"
    assert status["last_install"]["version"] == "0.2.0"
    assert status["available_version"] is None and status["last_check_result"] == "ok"
    assert status["last_check"].endswith("Z")
    log = [e for e in read_log(device.paths.root) if e["action"].startswith("update.")]
    assert [e["action"] for e in log] == ["update.checked", "update.checked", "update.installed"]
    assert log[0]["details"]["available"] == "0.2.0"
    assert log[0]["details"]["tls"].startswith("TLSv1.")
    assert log[-1]["details"]["slot"] == "slot_a"


def test_broken_new_version_rolls_back_and_the_old_one_keeps_running(
        tmp_path, repo, make_service, code_key):
    events = Events()
    repo.publish("0.2.0", release_tar(tmp_path / "b2", "0.2.0", code_key))
    first = make_service(tmp_path / "data", events).install()
    assert first.ok and first.slot == "slot_a"

    # 0.3.0 is properly signed (authorised) but does not start
    repo.publish("0.3.0", release_tar(tmp_path / "b3", "0.3.0", code_key, break_start=True))
    service = make_service(tmp_path / "data", events, installed="0.2.0")
    outcome = service.install()

    assert outcome.result == "rolled_back" and outcome.slot == "slot_a"
    assert "exited" in outcome.detail and "broken at start" in outcome.detail
    assert service.slots.current_slot() == "slot_a"
    assert events.actions()[-1] == "update.rolled_back"
    details = events[-1][1]
    assert details["failed_slot"] == "slot_b" and details["restored_slot"] == "slot_a"
    status = service.status()
    assert status["last_install"]["result"] == "rolled_back"
    assert [h["result"] for h in status["history"]] == ["installed", "rolled_back"]
    # the old version still boots and serves from the slot that is current again
    pinned = write_code_key(tmp_path / "pinned.pub", code_key)
    again = SmokeBootCheck("0.2.0", code_key=pinned)(tmp_path / "opt" / "current")
    assert again.ok, again.detail


def test_code_not_matching_its_manifest_is_refused_before_switching(
        tmp_path, repo, make_service, code_key):
    tree = package_copy(tmp_path / "build", "0.2.0", code_key=code_key)
    (tree / "vigilcam" / "auth" / "passwords.py").write_text("MIN_LENGTH = 1\n")  # after signing
    repo.publish("0.2.0", build_tar(tree))
    events = Events()
    service = make_service(tmp_path / "data", events)

    def must_not_run(slot):
        raise AssertionError("health check reached for refused code")

    outcome = service.install(health_check=must_not_run)
    assert outcome.result == "refused" and "auth/passwords.py" in outcome.detail
    assert service.slots.current_slot() is None
    assert not (tmp_path / "opt" / "slot_a").exists()
    assert events.actions()[-1] == "update.refused"


def test_manifest_version_must_match_the_signed_release(tmp_path, repo, make_service, code_key):
    tree = package_copy(tmp_path / "build", "0.2.0", code_key=code_key)
    repo.publish("0.9.0", build_tar(tree))  # old signed code relabelled as a new release
    events = Events()
    outcome = make_service(tmp_path / "data", events).install(
        health_check=lambda slot: HealthResult(True, "skipped"))
    assert outcome.result == "refused" and "manifest says 0.2.0" in outcome.detail


def test_code_signed_by_another_key_is_refused(tmp_path, repo, make_service):
    other = Ed25519PrivateKey.generate()
    repo.publish("0.2.0", release_tar(tmp_path / "build", "0.2.0", other))
    events = Events()
    outcome = make_service(tmp_path / "data", events).install(
        health_check=lambda slot: HealthResult(True, "skipped"))
    assert outcome.result == "refused" and "signature does not verify" in outcome.detail


def test_tampered_download_is_a_security_event(tmp_path, repo, make_service, code_key, device):
    blob = repo.publish("0.2.0", release_tar(tmp_path / "build", "0.2.0", code_key))
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    service = make_service(device.paths.root, device.record)
    with pytest.raises(UpdateError) as info:
        service.install(health_check=lambda slot: HealthResult(True, "x"))
    assert info.value.kind is RefusalKind.TAMPERED
    event = [e for e in read_log(device.paths.root) if e["action"] == "update.refused"][-1]
    assert event["result"] == "failure" and event["details"]["kind"] == "tampered"
    assert event["details"]["step"] == "download"
    assert service.status()["last_install"]["result"] == "refused"
    assert service.slots.current_slot() is None


def test_freeze_attack_is_recorded_in_status_and_log(tmp_path, repo, make_service, device):
    import datetime as dt

    past = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    repo.publish("0.2.0", b"irrelevant", timestamp_expires=past)
    service = make_service(device.paths.root, device.record)
    with pytest.raises(UpdateError):
        service.check()
    status = service.status()
    assert status["last_check_result"].startswith("freeze:")
    event = [e for e in read_log(device.paths.root) if e["action"] == "update.refused"][-1]
    assert event["details"]["kind"] == "freeze"


def test_unconfigured_device_says_what_to_do(tmp_path):
    service = UpdateService(tmp_path / "data", Events())
    with pytest.raises(UpdateError) as info:
        service.check()
    assert info.value.kind is RefusalKind.CONFIG
    assert "vigilcam update configure" in str(info.value)
    assert service.status()["configured"] is False


def test_second_install_before_restart_keeps_the_running_slot(tmp_path):
    """IoT-1005-1 5.3.1.1: the service keeps running the previous slot until it restarts; a
    second install in that time must not empty the slot it runs from."""
    from vigilcam.update.slots import SlotManager

    code = tmp_path / "code" / "vigilcam"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("VERSION = 'running'\n")
    tar = build_tar(tmp_path / "code")
    events = Events()
    slots = SlotManager(tmp_path / "opt")

    def healthy(path):
        return HealthResult(True, "ok")

    assert slots.install(tar, "0.1.0", health_check=healthy, record=events).ok
    slots.started()  # the device boots into it
    running = slots.current_slot()
    assert slots.install(tar, "0.2.0", health_check=healthy, record=events).ok
    third = slots.install(tar, "0.3.0", health_check=healthy, record=events)
    assert third.result == "refused" and "restart" in third.detail
    assert (slots.slot_path(running) / "vigilcam" / "__init__.py").read_text() \
        == "VERSION = 'running'\n"
    assert events.actions()[-1] == "update.refused"
    slots.started()  # after the restart the next install goes ahead
    assert slots.install(tar, "0.3.0", health_check=healthy, record=events).ok


def test_release_needing_other_dependencies_is_refused_before_switching(
        tmp_path, repo, make_service, code_key):
    running = tmp_path / "running" / "vigilcam"
    running.mkdir(parents=True)
    (running / "dependencies.txt").write_text("av==14.2.0\nnumpy==2.2.6\n")
    tree = package_copy(tmp_path / "build", "0.2.0")
    (tree / "vigilcam" / "dependencies.txt").write_text("av==14.2.0\nnumpy==2.3.0\nrich==13\n")
    write_signed_manifest(tree / "vigilcam", "0.2.0", code_key)
    repo.publish("0.2.0", build_tar(tree))
    events = Events()
    service = make_service(tmp_path / "data", events)
    service.running_package = running
    outcome = service.install(health_check=lambda slot: HealthResult(True, "skipped"))
    assert outcome.result == "refused", outcome
    assert "numpy 2.2.6 -> 2.3.0" in outcome.detail and "+rich 13" in outcome.detail
    assert "system package" in outcome.detail
    assert service.slots.current_slot() is None and events.actions()[-1] == "update.refused"
    # the same list installs
    (running / "dependencies.txt").write_text("av==14.2.0\nnumpy==2.3.0\nrich==13\n")
    assert service.install(health_check=lambda slot: HealthResult(True, "ok")).ok


def test_installs_are_handed_to_the_updater_unit_only_on_a_packaged_device(tmp_path, monkeypatch):
    """The read-only install root with the path unit present is proven by the packaging tests;
    here: no updater unit, no hand-over (an install runs, or fails, where it was asked)."""
    from vigilcam.update import service as service_module

    service = UpdateService(tmp_path / "data", Events(),
                            config=UpdateConfig(install_root=str(tmp_path / "opt")))
    monkeypatch.setattr(service_module.os, "access", lambda path, mode: False)
    monkeypatch.setattr(service_module, "UPDATER_PATH_UNITS", (str(tmp_path / "none.path"),))
    assert not service.installs_elsewhere()
    unit = tmp_path / "vigilcam-update.path"
    unit.write_text("[Path]\n")
    monkeypatch.setattr(service_module, "UPDATER_PATH_UNITS", (str(unit),))
    assert service.installs_elsewhere()
    monkeypatch.setattr(service_module.os, "access", lambda path, mode: True)
    assert not service.installs_elsewhere()  # a writable root installs here
