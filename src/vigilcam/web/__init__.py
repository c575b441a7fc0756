"""The HTTPS edge: JSON API under /api/v1, the browser UI, and live video over WSS.

Speaks HTTP; holds no policy. Who may do what is decided by ``vigilcam.auth.permissions``.
"""
