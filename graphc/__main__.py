"""``python -m graphc``: the same as the ``graphc`` command."""
from graphc.cli import main

raise SystemExit(main())
