"""Software updates and verified start: TUF client, encrypted packages, A/B slots, code manifest.

Owns the update feature. Serves IoT-1005-1 5.3.1.1 (A/B install, health check, automatic
rollback: ``slots``), 5.3.1.2 (TLS >= 1.2 with ECDHE, TUF-signed and AES-256-GCM encrypted
packages: ``fetcher``, ``client``, ``package``), 5.3.1.3 (scheduled checks, status:
``scheduler``, ``state``, ``service``), 5.4.1.1 (encrypted, signed release packages:
``repository``, ``package``) and TAICS 5.1.4.1 (verified start against a signed code manifest:
``manifest``). ``docs/updates.md`` explains the design and its limits.
"""
