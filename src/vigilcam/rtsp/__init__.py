"""RTSPS edge: RTSP/1.0 over TLS with RTP interleaved (issue 3 scope 5; IoT-1005-1 5.4.2.1)."""
