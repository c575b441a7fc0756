"""Media core of vigilcam: sources, one encode per stream, fan-out, fMP4, snapshots, masks.

Owns video capture and encoding (IoT-1005-1 5.6.1.1 reconnect to a lost source; TAICS 5.1.2.1
signal loss events; IoT-1005-1 5.7.1.1 privacy masks). Importing this package has no side
effects; every background thread is started and stopped by :class:`MediaPipeline`.
"""
