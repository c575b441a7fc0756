"""Authentication and authorisation: accounts, passwords, throttling, sessions, permissions."""
