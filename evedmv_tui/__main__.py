from evedmv_tui.cli import main

raise SystemExit(main())
