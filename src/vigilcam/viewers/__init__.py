"""Who is watching: every viewing session of live video, snapshots and recordings."""
