"""Every listener's admission policy and accept path: per-source connection budgets and
deadlines (IoT-1005-1 5.6.1.1; docs/listeners.md)."""
