"""RTSPS edge: RTSP/1.0 over TLS with RTP interleaved (IoT-1005-1 5.4.2.1)."""
