"""Host events: external ports being used, logged in the security log.

Owns watching the host for USB and storage hot-plug (TAICS TS 5100-2-1 5.1.1.2: plugging and
unplugging external ports is logged). ``uevent`` parses kernel uevents (pure); ``monitor`` owns
the netlink socket and the thread that feeds them to ``record``.
"""
