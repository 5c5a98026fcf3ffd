"""``python -m simulators``: serve all five simulators on the demo ports."""

from simulators.cli import main

raise SystemExit(main())
