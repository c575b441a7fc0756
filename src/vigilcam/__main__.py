"""The process entry point: ``vigilcam`` and ``python -m vigilcam`` (see ``vigilcam.cli``).

Owns what must hold in the process before any native library loads: FFmpeg's GnuTLS reads its
TLS policy file once, when PyAV is first imported, so the policy's environment
(``platform/tls.native_library_environment``) is set here, before the command line (which
imports PyAV) is imported. Serves IoT-1005-1 5.4.2.1 (TLS >= 1.2 with forward secrecy for the
upstream camera too).
"""

from __future__ import annotations

import os

from vigilcam.platform import tls


def main() -> int:
    os.environ.update(tls.native_library_environment())
    # Imported only now, after the environment is set: importing it loads PyAV and GnuTLS.
    from vigilcam.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
