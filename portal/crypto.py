"""Personal data at rest: encryption with the data keys, keyed hashes for look-ups.

Identifiers and outgoing mail are stored encrypted with :class:`~cryptography.fernet.MultiFernet`
built from ``settings.data_keys`` (newest key first, older keys stay readable). To find a row by
value without decrypting every row, a keyed hash (HMAC-SHA256 with the application's secret)
of the normalised value is stored beside it. Secrets we only ever compare (sign-in codes, link
tokens, session ids) are stored as keyed hashes and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

__all__ = ["InvalidToken", "decrypt", "encrypt", "init_app", "keyed_hash", "same_hash"]


def fernet_from_keys(keys: str) -> MultiFernet:
    """A MultiFernet of comma-separated keys, newest first.

    :raises ValueError: if a key is not a valid Fernet key (the message holds no key).
    """
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
    except (ValueError, TypeError):
        raise ValueError("data_keys: not a comma-separated list of Fernet keys") from None


def init_app(app: Flask, data_keys: str) -> None:
    """Bind the data keys (the caller has resolved the demo's generated key)."""
    app.extensions["portal.fernet"] = fernet_from_keys(data_keys)


def new_data_key() -> str:
    """A fresh Fernet key, as stored in ``instance/.data_keys`` for the demo."""
    return Fernet.generate_key().decode()


def _fernet() -> MultiFernet:
    fernet: MultiFernet = current_app.extensions["portal.fernet"]
    return fernet


def encrypt(value: str | bytes) -> bytes:
    """Encrypt ``value`` with the newest data key."""
    data = value.encode() if isinstance(value, str) else value
    return _fernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    """Decrypt with whichever data key fits.

    :raises InvalidToken: if no key fits or the token was altered.
    """
    return _fernet().decrypt(token)


def decrypt_text(token: bytes) -> str:
    """Decrypt a value that was stored as text."""
    return decrypt(token).decode()


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 (hex) of ``value`` under the application secret, separated by ``purpose``.

    The same value hashed for two purposes gives unrelated results, so a hash copied from one
    table means nothing in another.
    """
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode() if isinstance(key, str) else key
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()


def same_hash(stored: str | None, purpose: str, value: str) -> bool:
    """Whether ``value`` hashes to ``stored``, compared in constant time."""
    if not stored:
        return False
    return hmac.compare_digest(stored, keyed_hash(purpose, value))


def encrypted_columns() -> list[tuple[type, str]]:
    """Every (model, attribute) holding data encrypted with the data keys.

    By convention such columns are binary and named ``*_encrypted``; rotation relies on it.
    """
    from .models import Base

    found = []
    for mapper in Base.registry.mappers:
        for column in mapper.columns:
            if column.key.endswith("_encrypted"):
                found.append((mapper.class_, column.key))
    return found


def rotate_all(batch: int = 500) -> int:
    """Re-encrypt every stored value under the newest data key; returns how many changed.

    Put the new key first in ``data_keys`` (keeping the old ones), run this, then the old
    keys can be removed. Values that no key decrypts are left as they are.
    """
    from sqlalchemy import select

    from .extensions import db

    fernet = _fernet()
    changed = 0
    for model, attribute in encrypted_columns():
        column = getattr(model, attribute)
        last_id = 0
        while True:
            rows = db.session.scalars(
                select(model)
                .where(model.id > last_id, column.is_not(None))  # type: ignore[attr-defined]
                .order_by(model.id)  # type: ignore[attr-defined]
                .limit(batch)
            ).all()
            if not rows:
                break
            for row in rows:
                last_id = row.id
                try:
                    setattr(row, attribute, fernet.rotate(getattr(row, attribute)))
                    changed += 1
                except InvalidToken:
                    continue
            db.session.flush()
    return changed
