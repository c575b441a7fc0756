"""vigilcam: a network camera that is secure by default and proves it.

Owns the package version. Serves IoT-1005-1 5.2.3.4 (model and version shown everywhere).
"""

__version__ = "0.1.0"
