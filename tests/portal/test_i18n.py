"""Every text shown to people is in Dutch and in English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from portal import PROJECT_ROOT
from portal.i18n import translation_directories

#: Pages, and the plain-text templates (mails, the export's README.txt).
METHOD_MAP = [
    ("portal/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]
JINJA = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
#: Babel's default keywords and the lazy ones the portal uses for texts made at import time
#: (``_l``: labels, messages); the same as ``scripts/i18n.py`` extracts.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
OPTIONS = {"templates/**.html": JINJA, "templates/**.txt": JINJA}


def _translated(string: str | tuple[str, ...]) -> bool:
    """A message's Dutch text is there: for a plural message, every form of it."""
    return all(string) if isinstance(string, tuple) else bool(string)


def _dutch_catalogue() -> dict[str, str]:
    translated: dict[str, str] = {}
    for directory in translation_directories():
        for po in Path(directory).glob("nl/LC_MESSAGES/*.po"):
            with po.open("rb") as fh:
                for message in read_po(fh):
                    if message.id and _translated(message.string) and not message.fuzzy:
                        key = message.id if isinstance(message.id, str) else message.id[0]
                        translated[key] = str(message.string)
    return translated


def test_every_message_has_a_dutch_translation() -> None:
    dutch = _dutch_catalogue()
    missing = []
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        PROJECT_ROOT, METHOD_MAP, OPTIONS, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid and msgid not in dutch:
            missing.append(f"{filename}: {msgid!r}")
    assert not missing, "untranslated:\n" + "\n".join(sorted(set(missing)))


def test_catalogues_have_no_obsolete_or_fuzzy_entries() -> None:
    for directory in translation_directories():
        for po in Path(directory).glob("nl/LC_MESSAGES/*.po"):
            with po.open("rb") as fh:
                catalogue = read_po(fh)
            assert not catalogue.obsolete, po
            assert not [m.id for m in catalogue if m.fuzzy and m.id], po


def test_a_message_has_one_dutch_text_in_every_catalogue() -> None:
    """The areas' catalogues are merged into one at run time, the last one read winning: a
    message translated two ways shows one of them everywhere (an order's "Number" became the
    dashboard's "Aantal"). Messages that mean different things need different texts."""
    texts: dict[str, dict[str, str]] = {}
    for directory in translation_directories():
        for po in Path(directory).glob("nl/LC_MESSAGES/*.po"):
            with po.open("rb") as fh:
                for message in read_po(fh):
                    if message.id and _translated(message.string):
                        key = message.id if isinstance(message.id, str) else message.id[0]
                        where = str(po.relative_to(PROJECT_ROOT))
                        texts.setdefault(key, {})[where] = str(message.string)
    differ = {key: by for key, by in texts.items() if len(set(by.values())) > 1}
    assert not differ, "\n".join(f"{key!r}: {by}" for key, by in differ.items())
