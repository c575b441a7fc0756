"""The one typed settings object: TOML file, then environment, then command line.

Owns configuration and its validation at start (clear errors, unknown keys refused). Serves
IoT-1005-1 5.2.2.1 (only HTTPS on by default: RTSPS, plain-HTTP redirect and other listeners
are opt-in here), 5.5.2.1 (config input validated with bounds) and 5.1.2.2 (throttling limits
configurable). Secrets never live here: they go to the vault.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


class ConfigError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThrottleSettings(_Strict):
    free_attempts: int = Field(3, ge=1, le=20, description="failures before delays start")
    base_delay_s: float = Field(1.0, ge=0.1, le=60)
    max_delay_s: float = Field(900.0, ge=1, le=86400)
    source_lockout_after: int = Field(10, ge=3, le=100)
    source_lockout_s: float = Field(900.0, ge=10, le=86400)
    account_hard_cap: int = Field(100, ge=5, le=100, description="NIST SP 800-63B: at most 100")
    account_cap_lockout_s: float = Field(3600.0, ge=60, le=7 * 86400)
    failure_log_window_s: float = Field(
        60.0, ge=0.1, le=3600,
        description="failed logins from one source beyond the first few are logged as one "
                    "counted record per this many seconds")


class SessionSettings(_Strict):
    idle_timeout_s: int = Field(1800, ge=60, le=86400)
    absolute_timeout_s: int = Field(12 * 3600, ge=300, le=7 * 86400)


class MediaSettings(_Strict):
    source: str = "testsrc"
    width: int = Field(1280, ge=160, le=3840)
    height: int = Field(720, ge=120, le=2160)
    fps: float = Field(15.0, ge=1, le=60)
    sub_width: int = Field(640, ge=160, le=1920)
    sub_height: int = Field(360, ge=90, le=1080)
    sub_fps: float = Field(10.0, ge=1, le=30)


class RecordingSettings(_Strict):
    """How long recordings are kept and how much disk they may take (IoT-1005-1 5.7.1.1)."""

    max_age_days: float | None = Field(30.0, gt=0, le=3650,
                                       description="delete recordings older than this")
    quota_gib: float | None = Field(None, gt=0, le=1_000_000,
                                    description="at most this much footage (oldest goes first)")
    min_free_mib: int = Field(64, ge=0, le=10_000_000,
                              description="keep this much free space on the disk")


class SyslogSettings(_Strict):
    """Optional copy of the security log to a remote collector (TAICS 5.2.8.1)."""

    target: str | None = Field(None, max_length=300,
                               description="host[:port] of a TLS syslog collector (RFC 5425)")
    ca_file: Path | None = Field(None, description="CA bundle for the collector (default: "
                                                   "the system's trusted CAs)")
    queue_max: int = Field(1000, ge=10, le=100_000)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value:
            from vigilcam.platform.syslog_forward import SyslogTarget

            SyslogTarget.parse(value)
        return value or None


class ListenerSettings(_Strict):
    """Deadlines and per-source connection budgets of the HTTPS, redirect and RTSPS listeners
    (IoT-1005-1 5.6.1.1 availability under attack; docs/listeners.md explains each number)."""

    handshake_timeout_s: float = Field(10.0, ge=0.2, le=60,
                                       description="TLS handshake must finish in this time")
    head_timeout_s: float = Field(10.0, ge=0.2, le=120,
                                  description="a request head must be complete this long "
                                              "after the connection is ready or its first byte")
    body_timeout_s: float = Field(30.0, ge=0.2, le=600,
                                  description="a request body must be complete this long "
                                              "after its head")
    keep_alive_s: float = Field(30.0, ge=1, le=600,
                                description="an idle HTTP connection between requests")
    auth_timeout_s: float = Field(20.0, ge=0.5, le=300,
                                  description="RTSPS: authenticate within this time")
    https_per_source: int = Field(32, ge=2, le=1024,
                                  description="open HTTPS/WSS connections per address (/64)")
    https_max: int = Field(512, ge=16, le=8192, description="open HTTPS/WSS connections")
    rtsps_per_source: int = Field(16, ge=1, le=256,
                                  description="open RTSPS connections per address (/64)")
    rtsps_max: int = Field(128, ge=4, le=1024, description="open RTSPS connections")

    @model_validator(mode="after")
    def _per_source_well_below_total(self) -> ListenerSettings:
        for name in ("https", "rtsps"):
            per, total = getattr(self, f"{name}_per_source"), getattr(self, f"{name}_max")
            if per * 4 > total:
                raise ValueError(f"{name}_per_source ({per}) must be at most a quarter of "
                                 f"{name}_max ({total}), so a few addresses cannot fill it")
        return self


class OnvifSettings(_Strict):
    """ONVIF Profile S over HTTPS (IoT-1005-1 5.2.2.1: off unless the owner turns it on; the
    owner's choice made with ``vigilcam onvif enable|disable`` or the Device page is kept in
    the data dir and wins over ``enabled`` here)."""

    enabled: bool = Field(False, description="serve ONVIF at /onvif/* on the HTTPS listener")
    discovery: bool = Field(False, description="answer WS-Discovery probes on UDP 3702")
    created_window_s: float = Field(300.0, ge=10, le=3600,
                                    description="accepted WS-Security Created skew, either side")
    advertised_host: str | None = Field(None, max_length=253,
                                        description="host put in XAddrs (default: the "
                                                    "request's validated Host)")
    subscriptions_per_user: int = Field(4, ge=1, le=64)
    max_body_bytes: int = Field(64 * 1024, ge=4096, le=1024 * 1024)
    request_timeout_s: float = Field(10.0, ge=1, le=120)


class Settings(_Strict):
    bind: str = "127.0.0.1"
    https_port: int = Field(8443, ge=1, le=65535)
    http_redirect_port: int | None = Field(None, ge=1, le=65535)
    rtsps_port: int | None = Field(None, ge=1, le=65535)
    hosts: list[str] = Field(default_factory=list, max_length=32)
    record: Literal["continuous", "events", "off"] = "off"
    log_retention_days: int = Field(365, ge=90, le=3650)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    throttle: ThrottleSettings = ThrottleSettings()
    sessions: SessionSettings = SessionSettings()
    media: MediaSettings = MediaSettings()
    recording: RecordingSettings = RecordingSettings()
    syslog: SyslogSettings = SyslogSettings()
    listeners: ListenerSettings = ListenerSettings()
    hotplug_logging: bool = Field(True, description="log USB/storage hot-plug (TAICS 5.1.1.2)")
    onvif: OnvifSettings = OnvifSettings()

    @field_validator("bind")
    @classmethod
    def _bind_is_ip(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                "bind must be an IP address such as 127.0.0.1, 0.0.0.0 or ::"
            ) from None
        return value


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, field_name in (
        ("VIGILCAM_BIND", "bind"),
        ("VIGILCAM_HTTPS_PORT", "https_port"),
        ("VIGILCAM_RTSPS_PORT", "rtsps_port"),
    ):
        if key in environ:
            out[field_name] = environ[key]
    return out


def load_settings(
    config_file: Path | None,
    cli: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """File, then environment, then CLI; raise ConfigError naming the bad key."""
    data: dict[str, Any] = {}
    if config_file is not None and config_file.exists():
        try:
            data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file}: not valid TOML: {exc}") from None
    data.update(_env_overrides(dict(os.environ) if environ is None else environ))
    media_cli = {}
    for key, value in (cli or {}).items():
        if value is None:
            continue
        if key == "source":
            media_cli["source"] = value
        else:
            data[key] = value
    if media_cli:
        data["media"] = {**data.get("media", {}), **media_cli}
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
