"""Alerts: security events become messages the owner receives, reliably.

Owns the path event -> rule -> persistent outbox -> channel. Serves IoT-1005-1 5.8.1.1 (abnormal
login raises an active alert carrying the device ID), TAICS TS 5100-2-1 5.5.1.1 (every new access
alerts), 5.1.2.1 (tamper, signal and power loss alert) and 5.2.8.2 (the log cannot be stored:
alert anyway).
"""
