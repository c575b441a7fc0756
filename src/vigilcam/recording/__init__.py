"""Recording: encrypted segments, index, retention, crash recovery, playback, export, erase.

Owns recorded footage end to end (IoT-1005-1 5.4.1.2, 5.6.1.1, 5.7.1.1; EN 303 645
5.8, 5.11). Importing this package has no side effects; the recorder's worker thread exists
only while ``Recorder.run()`` runs.
"""
