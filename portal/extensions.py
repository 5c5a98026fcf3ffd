"""Extension objects, created once and bound to an application in :func:`portal.create_app`."""

from __future__ import annotations

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
limiter = Limiter(key_func=get_remote_address)
