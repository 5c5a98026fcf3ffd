"""Personal data at rest is encrypted with data keys that can be rotated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask

from portal import create_app
from portal.auth.services import sign_in_with_verified_email
from portal.crypto import decrypt, encrypted_columns
from portal.extensions import db
from portal.models import CustomerIdentifier, GatheredSnapshot

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"data_keys": OLD}


@pytest.fixture
def rotated_app(
    app: Flask, base_settings: dict[str, object], instance_dir: Path
) -> Iterator[Flask]:
    """The same database, with a new key put in front of the old one."""
    rotated = create_app({**base_settings, "data_keys": f"{NEW},{OLD}"}, instance_path=instance_dir)
    yield rotated
    with rotated.app_context():
        db.engine.dispose()


def test_every_encrypted_column_is_found() -> None:
    columns = {f"{model.__name__}.{attr}" for model, attr in encrypted_columns()}
    assert "CustomerIdentifier.value_encrypted" in columns
    assert "GatheredSnapshot.payload_encrypted" in columns


def test_rotation_re_encrypts_under_the_newest_key(app: Flask, rotated_app: Flask) -> None:
    with app.test_request_context():
        sign_in_with_verified_email("sanne.devries@example.nl", method="test")
        db.session.commit()
    with rotated_app.app_context():
        before = db.session.scalars(sa.select(CustomerIdentifier)).one().value_encrypted
        # readable with the old key still in the list
        assert decrypt(before) == b"sanne.devries@example.nl"
        result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted" in result.output
        after = db.session.scalars(sa.select(CustomerIdentifier)).one().value_encrypted
    assert after != before
    assert Fernet(NEW.encode()).decrypt(after) == b"sanne.devries@example.nl"
    with pytest.raises(InvalidToken):
        Fernet(OLD.encode()).decrypt(after)


#: Binary columns that hold no secret and no personal data, so they are stored as they are:
#: WebAuthn credential ids and public keys (public by design) and single-use challenges.
NOT_SECRET_BINARY = {
    "staff_passkeys.credential_id",
    "staff_passkeys.public_key",
    "staff_passkey_challenges.challenge",
}


def test_binary_columns_are_all_encrypted_ones() -> None:
    from portal.models import Base

    for table in Base.metadata.tables.values():
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            if isinstance(column.type, sa.LargeBinary) and name not in NOT_SECRET_BINARY:
                assert column.name.endswith("_encrypted"), name
    assert GatheredSnapshot.__table__.c.payload_encrypted is not None
