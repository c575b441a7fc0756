"""Privacy: the data inventory, erasure of personal data, factory reset, privacy masks, telemetry.

Owns the owner's control over the personal data the camera keeps (IoT-1005-1 5.7.1.1, 5.7.1.2;
EN 303 645 5.11, 6; TAICS 5.1.3.2). Importing this package has no side effects.
"""
