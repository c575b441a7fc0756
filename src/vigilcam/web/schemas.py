"""Request bodies of the API: every field typed and bounded, unknown fields refused.

Serves IoT-1005-1 5.5.2.1 (the management interface validates syntax and content of input).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vigilcam.auth.permissions import Permission, Role


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChangeBody(Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class UserCreateBody(Body):
    username: str = Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9._-]{1,31}$")
    role: Role


class UserUpdateBody(Body):
    role: Role | None = None
    disabled: bool | None = None


class TokenCreateBody(Body):
    label: str = Field(min_length=1, max_length=64, pattern=r"^[\w .:-]+$")
    scopes: list[Permission] = Field(min_length=1, max_length=len(Permission))
    ttl_days: int = Field(90, ge=1, le=365)


class PrivacyBody(Body):
    enabled: bool


class LogQuery(Body):
    since: str | None = Field(None, max_length=32)
    until: str | None = Field(None, max_length=32)
    action: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9_.]*$")
    user: str | None = Field(None, max_length=64)
    result: Literal["ok", "failure", "error"] | None = None
    limit: int = Field(200, ge=1, le=10000)
    format: Literal["json", "csv"] = "json"
