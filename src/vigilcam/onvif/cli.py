"""``vigilcam onvif enable|disable|status``: the owner's ONVIF switch from the command line.

Owns the CLI face of ``onvif_switch``. Serves IoT-1005-1 5.2.2.1 (the owner turns the service
on; it is off by default) and TAICS 5.2.8.1 (each change is a ``config.onvif_changed`` event).
A running ``vigilcam run`` picks the change up at its next request (no restart needed); the
WS-Discovery responder starts or stops at the next start.
"""

from __future__ import annotations

import argparse

from vigilcam.platform.cli_kit import CLI_SOURCE, EXIT_OK, add_data_dir, host_of
from vigilcam.platform.events import Event


def cmd_onvif(args: argparse.Namespace) -> int:
    device = host_of(args).open_device(args)
    try:
        switch = device.services.onvif_switch
        if args.onvif_cmd == "status":
            state = switch.current()
            print(f"ONVIF {'enabled' if state.enabled else 'disabled'}; WS-Discovery "
                  f"{'on' if state.discovery else 'off'}")
            return EXIT_OK
        enabled = args.onvif_cmd == "enable"
        discovery = bool(getattr(args, "discovery", False)) if enabled else False
        state = switch.set(enabled=enabled, discovery=discovery)
        device.record(Event.CONFIG_ONVIF_CHANGED, user="cli", source=CLI_SOURCE,
                      enabled=state.enabled, discovery=state.discovery)
        print(f"ONVIF {'enabled' if state.enabled else 'disabled'}"
              + ("; WS-Discovery on (from the next start)" if state.discovery else ""))
        return EXIT_OK
    finally:
        device.close()


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("onvif", help="ONVIF Profile S over HTTPS (off by default)")
    osub = p.add_subparsers(dest="onvif_cmd", required=True)
    e = add_data_dir(osub.add_parser("enable", help="serve ONVIF on the HTTPS listener"))
    e.add_argument("--discovery", action="store_true",
                   help="also answer WS-Discovery probes on UDP 3702")
    add_data_dir(osub.add_parser("disable", help="stop serving ONVIF (404 on its paths)"))
    add_data_dir(osub.add_parser("status", help="show whether ONVIF is on"))
    p.set_defaults(func=cmd_onvif)
