"""Keep the Dutch catalogues in step with the code.

    .venv/bin/python scripts/i18n.py update   add new messages, drop obsolete ones, per area
    .venv/bin/python scripts/i18n.py missing  list messages without a Dutch translation

An *area* is a package ``portal/<area>/`` with a ``translations/`` folder; it owns the messages
in ``portal/<area>/**.py`` and ``templates/<area>/**.html``. Everything else belongs to the core
catalogue in ``portal/translations``. After editing a .po file, ``flask --app portal i18n
compile`` (or either README command) compiles it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"
TEMPLATES = ROOT / "templates"
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "_n": (1, 2),
    "lazy_ngettext": (1, 2),
}


def areas() -> dict[str, Path]:
    """Area name -> its translations folder; ``core`` for portal/translations."""
    found = {"core": PORTAL / "translations"}
    for path in sorted(PORTAL.glob("*/translations")):
        found[path.parent.name] = path
    return found


def owner(path: Path, names: set[str]) -> str:
    rel = path.relative_to(ROOT).parts
    if rel[0] == "portal" and len(rel) > 2 and rel[1] in names:
        return rel[1]
    if rel[0] == "templates" and len(rel) > 2 and rel[1] in names:
        return rel[1]
    return "core"


def extract() -> dict[str, Catalog]:
    names = set(areas()) - {"core"}
    catalogs = {name: Catalog(locale="nl", project="privacy-portal") for name in areas()}
    sources = [(p, "python") for p in PORTAL.rglob("*.py")]
    sources += [(p, "jinja2") for p in TEMPLATES.rglob("*.html")]
    sources += [(p, "jinja2") for p in TEMPLATES.rglob("*.txt")]
    for path, method in sources:
        options = JINJA_OPTIONS if method == "jinja2" else {}
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            catalogs[owner(path, names)].add(
                message,
                locations=[(str(path.relative_to(ROOT)), lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalogs


def update() -> None:
    for name, fresh in extract().items():
        po_path = areas()[name] / "nl" / "LC_MESSAGES" / "messages.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale="nl")
            catalog.update(fresh, no_fuzzy_matching=True)
            catalog.obsolete.clear()
        else:
            catalog = fresh
        with po_path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=False)
        untranslated = sum(1 for m in catalog if m.id and not _translated(m.string))
        print(f"{po_path.relative_to(ROOT)}: {len(catalog)} messages, {untranslated} untranslated")


def _translated(string: str | tuple[str, ...]) -> bool:
    """Whether a message has its Dutch text: for a plural message, every form of it."""
    return all(string) if isinstance(string, tuple) else bool(string)


def missing() -> int:
    count = 0
    for name, path in areas().items():
        po_path = path / "nl" / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            continue
        with po_path.open("rb") as fh:
            for message in read_po(fh):
                if message.id and (not _translated(message.string) or message.fuzzy):
                    print(f"{name}: {message.id!r}")
                    count += 1
    return count


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif sys.argv[1:] == ["missing"]:
        sys.exit(1 if missing() else 0)
    else:
        sys.exit(__doc__)
