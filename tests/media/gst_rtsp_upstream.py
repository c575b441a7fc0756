"""A stand-in upstream camera for tests: GStreamer's RTSP server (system python3 + gi).

Run as ``/usr/bin/python3 gst_rtsp_upstream.py PORT [CERT_PEM KEY_PEM]`` (not imported by
pytest). Serves a live 320x240 15 fps High-profile H.264 test pattern at
rtsp://127.0.0.1:PORT/cam, or rtsps:// with the given certificate, until killed.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
for element, package in (("x264enc", "gstreamer1.0-plugins-ugly"),
                         ("rtph264pay", "gstreamer1.0-plugins-good")):
    if Gst.ElementFactory.find(element) is None:
        # Said on the "ready" line so the test fails with the cause, not a stream timeout.
        print(f"missing GStreamer element {element} (Debian package {package})", flush=True)
        sys.exit(1)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(sys.argv[1])
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1"
    " ! x264enc tune=zerolatency speed-preset=superfast key-int-max=15"
    " ! video/x-h264,profile=high"
    " ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)
factory.set_shared(True)
if len(sys.argv) == 4:
    with open(sys.argv[2]) as c, open(sys.argv[3]) as k:
        pem = c.read() + k.read()
    auth = GstRtspServer.RTSPAuth()
    auth.set_tls_certificate(Gio.TlsCertificate.new_from_pem(pem, -1))
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "anonymous")
    auth.set_default_token(token)
    server.set_auth(auth)
    role = Gst.Structure.from_string(
        "anonymous, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
    )[0]
    factory.add_role_from_structure(role)
server.get_mount_points().add_factory("/cam", factory)
server.attach(None)
print("ready", flush=True)
GLib.MainLoop().run()
