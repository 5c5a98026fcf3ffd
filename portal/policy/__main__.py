"""``python -m portal.policy check FILE``: check a policy file without a running portal."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "check":
        print("usage: python -m portal.policy check FILE", file=sys.stderr)
        return 2
    from portal.cli import run_policy_check

    return run_policy_check(Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
