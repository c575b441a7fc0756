"""Platform layer: config, paths, identity, vault, database, security log, TLS.

Knows nothing of video or HTTP. Services and edges import it; it imports neither.
"""
