"""The privacy portal: a Flask application built by :func:`create_app`. Nothing runs at import."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import crypto, i18n, security, tasks
from . import policy as policy_module
from .extensions import csrf, db, limiter
from .logging import configure_logging
from .policy import PolicyError, load_policy
from .policy.check import check_policy
from .policy.schema import Policy
from .settings import Settings, SettingsError, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StartupError(SystemExit):
    """Start-up stops with one clear message (exit status 1), never a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(f"privacy portal: cannot start: {message}")


def _instance_path() -> Path:
    return Path(os.environ.get("PORTAL_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def _local_secret(instance: Path, name: str, make: Any) -> str:
    """A secret kept in the instance folder for the demo, created once with mode 0600."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def create_app(overrides: dict[str, Any] | None = None, instance_path: Path | None = None) -> Flask:
    """Build the application.

    :param overrides: settings (lower-case names of :class:`portal.settings.Settings`) that
        win over the instance file and the environment; used by tests.
    :param instance_path: the instance folder; default ``PORTAL_INSTANCE_PATH`` or ``instance/``.
    :raises StartupError: if a setting or the policy file is wrong.
    """
    instance = (instance_path or _instance_path()).resolve()
    try:
        settings = load_settings(instance, overrides)
    except SettingsError as exc:
        raise StartupError(str(exc)) from None
    try:
        policy = load_policy(instance / settings.policy_file)
    except PolicyError as exc:
        raise StartupError(str(exc)) from None
    if settings.environment == "production":
        _refuse_an_unfinished_policy(instance / settings.policy_file, policy)

    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    _configure(app, settings, instance)
    configure_logging(settings.log_level)

    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app, settings.default_locale, settings.timezone)
    tasks.init_app(app)
    security.init_app(app, settings.secure_cookies)
    policy_module.init_app(app, policy)

    from . import auth, backoffice, customer, dsr, errors, export, public, staff
    from .auth import oidc as auth_oidc
    from .backoffice import tasks as backoffice_tasks  # noqa: F401 - registers the queue tasks

    app.register_blueprint(public.bp)
    auth.init_app(app)
    auth_oidc.init_app(app)  # only when the firm configured an identity provider
    app.register_blueprint(customer.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(dsr.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(backoffice.bp)
    errors.init_app(app)
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    from .cli import init_app as init_cli

    init_cli(app)
    return app


def _configure(app: Flask, settings: Settings, instance: Path) -> None:
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
    else:
        secret = _local_secret(instance, ".secret_key", lambda: secrets.token_urlsafe(48))
    app.extensions["portal.settings"] = settings
    if settings.data_keys is not None:
        data_keys = settings.data_keys.get_secret_value()
    else:
        data_keys = _local_secret(instance, ".data_keys", crypto.new_data_key)
    try:
        crypto.init_app(app, data_keys)
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    app.config.update(
        SECRET_KEY=secret,
        SQLALCHEMY_DATABASE_URI=_database_url(settings.database_url),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        TESTING=settings.environment == "test",
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        # X-RateLimit-Remaining and -Reset count what anybody did with the same address (a
        # sign-in code asked for, a code typed): they would show others' activity. A 429
        # says how long to wait (portal.errors).
        RATELIMIT_HEADERS_ENABLED=False,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead, which has its own lifetime
        # Flask-WTF's https check wants a same-origin Referer, which our Referrer-Policy
        # (no-referrer: link tokens never leave a page) keeps browsers from sending; every
        # form over https would fail. The token, SameSite cookies and the Sec-Fetch-Site check
        # (portal.security) stand in for it.
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        PREFERRED_URL_SCHEME=settings.base_url.scheme,
    )


def _refuse_an_unfinished_policy(path: Path, policy: Policy) -> None:
    """Production does not show customers a statement that lacks what GDPR art. 13/14 asks,
    or still holds template text ("[AANBIEDER]"): the firm finishes it first."""
    errors = [
        f for f in check_policy(policy, path.read_text(encoding="utf-8")) if f.severity == "error"
    ]
    if errors:
        raise StartupError(
            f"{path}: the privacy policy has {len(errors)} error(s) customers would see, the"
            f" first: {errors[0]}; run `flask --app portal policy check` and fix them"
        )


def _database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url
