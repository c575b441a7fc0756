"""``python -m vigilcam``: the command line (see ``vigilcam.cli``)."""

from vigilcam.cli import main

raise SystemExit(main())
