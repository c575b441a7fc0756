#!/bin/sh
# /usr/bin/vigilcam on a packaged device: runs the signed release in /opt/vigilcam/current with
# the bundled dependencies (/usr/lib/vigilcam/venv), the data dir /var/lib/vigilcam and the
# code-signing key the package pins (root-owned). Run as root, it drops to the vigilcam user so
# that every file it writes in the data dir or the install root stays the service's.
PYTHONPATH=/opt/vigilcam/current
PYTHONDONTWRITEBYTECODE=1
VIGILCAM_DATA_DIR=/var/lib/vigilcam
VIGILCAM_CODE_KEY=/usr/share/vigilcam/trust/code-signing.pub
export PYTHONPATH PYTHONDONTWRITEBYTECODE VIGILCAM_DATA_DIR VIGILCAM_CODE_KEY
PY=/usr/lib/vigilcam/venv/bin/python3
if [ ! -d /opt/vigilcam/current/vigilcam ]; then
    echo "vigilcam: no release installed in /opt/vigilcam/current (reinstall the package)" >&2
    exit 3
fi
if [ "$(id -u)" = 0 ]; then
    cd /
    exec setpriv --reuid=vigilcam --regid=vigilcam --init-groups --inh-caps=-all \
        -- "$PY" -P -m vigilcam "$@"
fi
exec "$PY" -P -m vigilcam "$@"
