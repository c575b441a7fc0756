"""IoT-1005-1 5.1.3.1 / 5.4.1.2: NIST SP 800-63B policy, Argon2id hashes only."""

from __future__ import annotations

import asyncio

import pytest

from vigilcam.auth.passwords import MAX_LENGTH, PasswordHasher, generate_secret, policy_problems


@pytest.mark.parametrize("password", [
    "short-one", "passwordpassword", "qwertyuiopasdfgh", "aaaaaaaaaaaaaaaaaaa",
    "abcdefghijklmnopq", "123456789012345678", "iloveyouiloveyou1",
])
def test_weak_passwords_refused(password):
    assert policy_problems(password)


def test_context_words_refused():
    assert policy_problems("my-vigilcam-camera-2026", ["vigilcam"])
    assert policy_problems("VC1-ABCD-EFGH-JKLM-extra", ["VC1-ABCD-EFGH-JKLM"])
    assert policy_problems("alice-in-wonderland-99", ["alice"])


def test_good_passwords_accepted_without_composition_rules():
    assert policy_problems("correct horse battery staple") == []
    assert policy_problems("lowercase only but quite long") == []
    assert policy_problems("x" * 3 + "unusual-lemur-tractor" * 3) == []
    assert policy_problems("é" * 2 + " ünïcode passphrase works") == []
    assert len(policy_problems("w" * (MAX_LENGTH + 1))) >= 1


def test_sixty_four_characters_allowed():
    pw = "the quick brown fox jumps over the lazy dog while the cat sleeps!"
    assert len(pw) >= 64 and policy_problems(pw) == []


def test_generated_secrets_are_unique_and_typeable():
    secrets_ = {generate_secret() for _ in range(200)}
    assert len(secrets_) == 200
    assert all(len(s) == 29 and s.count("-") == 4 for s in secrets_)


def test_argon2id_hash_and_verify():
    hasher = PasswordHasher()
    try:
        h = hasher.hash("correct horse battery staple")
        assert h.startswith("$argon2id$")
        assert "m=47104" in h and "t=2" in h
        assert hasher.verify(h, "correct horse battery staple")
        assert not hasher.verify(h, "correct horse battery stapler")
        assert not hasher.verify(None, "anything")  # unknown user: same work, refused
        assert not hasher.verify("not-a-hash", "x")
        assert hasher.checks_performed == 4
        assert asyncio.run(hasher.verify_async(h, "correct horse battery staple"))
    finally:
        hasher.close()
