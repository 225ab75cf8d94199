from traycap.cli import main

raise SystemExit(main())
