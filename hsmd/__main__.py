"""``python -m hsmd``: the same as the ``hsmd`` console script."""

from hsmd.cli import main

raise SystemExit(main())
