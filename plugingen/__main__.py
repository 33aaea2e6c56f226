from plugingen.cli import main

raise SystemExit(main())
