"""Fill translations into an area's Dutch catalogue from a Python dict ``NL`` (msgid -> Dutch).

.venv/bin/python scripts/fill_po.py AREA FILE.py
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent))
from i18n import areas  # noqa: E402


def main(area: str, source: str) -> int:
    translations: dict[str, str] = runpy.run_path(source)["NL"]
    po_path = areas()[area] / "nl" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale="nl")
    filled = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            message.string = translations[key]
            message.flags.discard("fuzzy")
            filled += 1
    with po_path.open("wb") as fh:
        write_po(fh, catalog, width=100)
    left = [m.id for m in catalog if m.id and not m.string]
    print(f"filled {filled}; still untranslated: {len(left)}")
    for msgid in left:
        print(f"  {msgid!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
