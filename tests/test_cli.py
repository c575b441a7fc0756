"""The CLI contract: init, user management, log export; exit codes and one-line errors."""

from __future__ import annotations

import json
import stat

from tests.support import STRONG, run_cli


def test_init_prints_id_and_secret_once(tmp_path):
    data = tmp_path / "d"
    first = run_cli("init", "--data-dir", str(data))
    assert first.returncode == 0
    secret = (data / "setup-secret").read_text().strip()
    assert secret in first.stdout and "device ID:" in first.stdout
    assert stat.S_IMODE((data / "setup-secret").stat().st_mode) == 0o600
    again = run_cli("init", "--data-dir", str(data))
    assert again.returncode == 0 and secret not in again.stdout
    assert first.stdout.splitlines()[0] == again.stdout.splitlines()[0]  # same device ID


def test_user_commands(tmp_path):
    data = str(tmp_path / "d")
    run_cli("init", "--data-dir", data)
    r = run_cli("user", "add", "olga", "--role", "operator", "--data-dir", data)
    assert r.returncode == 0 and "one-time password" in r.stdout
    r = run_cli("user", "add", "pete", "--password-stdin", "--data-dir", data, input="short\n")
    assert r.returncode == 1 and "15 characters" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("user", "add", "pete", "--password-stdin", "--data-dir", data,
                input=STRONG + "\n")
    assert r.returncode == 0
    assert run_cli("user", "set-role", "pete", "admin", "--data-dir", data).returncode == 0
    assert run_cli("user", "disable", "olga", "--data-dir", data).returncode == 0
    r = run_cli("user", "reset-password", "pete", "--data-dir", data)
    assert r.returncode == 0 and "one-time password for pete" in r.stdout
    users = {u["username"]: u for u in json.loads(
        run_cli("user", "list", "--json", "--data-dir", data).stdout)}
    assert users["olga"]["disabled"] and users["pete"]["role"] == "admin"
    assert users["pete"]["must_change_password"]
    r = run_cli("user", "set-role", "nobody", "viewer", "--data-dir", data)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    r = run_cli("user", "add", "Bad Name!", "--data-dir", data)
    assert r.returncode == 1 and "user names" in r.stderr
    r = run_cli("user", "disable", "admin", "--data-dir", data)
    assert r.returncode == 0  # pete is another admin now
    r = run_cli("user", "disable", "pete", "--data-dir", data)
    assert r.returncode == 1 and "last admin" in r.stderr
    exported = json.loads(run_cli("log", "export", "--data-dir", data).stdout)
    actions = [e["action"] for e in exported]
    assert "user.added" in actions and "user.password_reset" in actions
    assert STRONG not in json.dumps(exported)


def test_usage_errors_and_bad_config(tmp_path):
    assert run_cli("user").returncode == 2
    assert run_cli("log", "verify", "--data-dir", str(tmp_path / "none")).returncode == 3
    data = tmp_path / "d"
    run_cli("init", "--data-dir", str(data))
    (data / "config.toml").write_text("https_port = 99999\n")
    r = run_cli("user", "list", "--data-dir", str(data))
    assert r.returncode == 3 and "https_port" in r.stderr
    (data / "config.toml").write_text("unknown_key = 1\n")
    r = run_cli("user", "list", "--data-dir", str(data))
    assert r.returncode == 3 and "unknown_key" in r.stderr
    (data / "config.toml").write_text("[[[ not toml\n")
    r = run_cli("user", "list", "--data-dir", str(data))
    assert r.returncode == 3 and "TOML" in r.stderr
