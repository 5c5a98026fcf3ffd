"""Extension objects, created once and bound to an application in :func:`portal.create_app`."""

from __future__ import annotations

import ipaddress

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from .models.base import Base

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
#: Storage is chosen by configuration (``RATELIMIT_STORAGE_URI``): memory in the demo, Redis in
#: production, so that several gunicorn workers share one count.


def network_of(address: str) -> str:
    """The network a client address counts as: an IPv4 address as it is, an IPv6 address as
    its /64 network. One IPv6 connection is usually given a whole /64 (2^64 addresses), so
    keying by the full address would give whoever has one as many budgets as they like."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # an IPv4 client of a dual-stack socket
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_network() -> str:
    """The rate-limit key of the client's address (:func:`network_of`), as a keyed hash: the
    limiter's storage (Redis in production) holds no IP address in the clear."""
    from .crypto import keyed_hash

    return "ip:" + keyed_hash("rate-limit-ip", network_of(get_remote_address()))[:32]


limiter = Limiter(key_func=client_network)
