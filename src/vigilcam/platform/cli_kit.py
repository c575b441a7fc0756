"""What every ``vigilcam`` command shares, for the main command line and the feature commands
the service packages add to it.

Owns the CLI contract's shared parts: exit codes (0 done, 1 refused or failed check, 2 usage
error, 3 the device cannot start), the one-line :class:`CliError`, ``--data-dir``, the
confirmation before a destructive step, and :class:`CliHost`, through which the command line's
composition (``vigilcam.cli``) hands feature commands what only it may build (the opened
device, provisioning). Feature commands in service packages import this module, never the
command line itself, so the layers run one way (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilcam.platform.config import Settings, load_settings
from vigilcam.platform.paths import DataPaths, default_data_dir

__all__ = ["CLI_SOURCE", "EXIT_FAIL", "EXIT_OK", "EXIT_START", "EXIT_USAGE", "CliError",
           "CliHost", "add_data_dir", "confirm", "data_paths", "host_of", "settings_for"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_START = 0, 1, 2, 3
CLI_SOURCE = "cli"
_HOST = "cli_host"


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAIL) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CliHost:
    """What the command line's composition hands every command through ``args``."""

    # The device named by --data-dir, opened (vigilcam.app.open_device); the caller closes it.
    open_device: Callable[[argparse.Namespace], Any]
    # Keys, vault, certificate, admin with a new setup secret and the security log for a kept
    # identity (vigilcam.app.create_device_state): (setup secret, security log).
    provision_state: Callable[..., tuple[str, Any]]

    def attach(self, args: argparse.Namespace) -> argparse.Namespace:
        setattr(args, _HOST, self)
        return args


def host_of(args: argparse.Namespace) -> CliHost:
    host = getattr(args, _HOST, None)
    if not isinstance(host, CliHost):
        raise CliError("this command runs only from the vigilcam command line", EXIT_USAGE)
    return host


def data_paths(args: argparse.Namespace) -> DataPaths:
    return DataPaths(Path(args.data_dir) if args.data_dir else default_data_dir())


def settings_for(args: argparse.Namespace, paths: DataPaths) -> Settings:
    cli = {k: getattr(args, k, None) for k in ("bind", "https_port", "source", "rtsps_port",
                                               "record", "http_redirect_port")}
    return load_settings(paths.config_file, cli)


def add_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--data-dir", help="state folder (default /var/lib/vigilcam as root)")
    return p


def confirm(args: argparse.Namespace, question: str) -> None:
    """Ask before a destructive step unless --yes; refuse without a terminal."""
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        raise CliError(f"{question} Refusing without a terminal; add --yes", EXIT_USAGE)
    if input(f"{question} Type 'yes' to go on: ").strip().lower() != "yes":
        raise CliError("cancelled")
