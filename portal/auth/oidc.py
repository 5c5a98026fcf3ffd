"""Signing in through the firm's own OpenID Connect identity provider (optional).

When ``oidc_issuer`` is set, the sign-in page offers "Inloggen met <provider>". The flow is the
authorization-code flow with PKCE (S256), through Authlib's Flask client:

1. ``GET /auth/oidc/start`` stores a fresh ``state``, ``nonce`` and PKCE code verifier in the
   session and redirects to the provider. It is a plain link, not a form: the portal's CSP has
   ``form-action 'self'``, which Chrome also applies to the redirect after a form POST, so a
   POST that redirects to another host would be blocked.
2. ``GET /auth/oidc/callback`` checks ``state`` (and the RFC 9207 ``iss`` parameter when sent),
   exchanges the code with the code verifier, and verifies the ID token: signature against the
   provider's JWKS, issuer, audience (our client id), expiry, ``nonce`` and ``at_hash``.

Only an e-mail address whose ``email_verified`` claim is true becomes a verified identifier; any
other outcome shows a page that says what happened, and no session is started. The provider's
name is safe to log; nothing the provider says about the person (address, subject) is logged.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from ..extensions import db
from ..settings import Settings
from .targets import after_sign_in_url

log = logging.getLogger(__name__)

bp = Blueprint("oidc", __name__, url_prefix="/auth/oidc")

#: The name of the provider in Authlib's registry, and the sign-in method recorded for a login.
CLIENT_NAME = "idp"
#: Authlib's session keys of a start's state, nonce and PKCE verifier (``_state_<name>_<state>``).
STATE_PREFIX = f"_state_{CLIENT_NAME}_"
METHOD = "oidc"
#: Where this app's Authlib registry is kept (one per app, so that apps with different
#: providers, as in the tests, never share a cached client or its metadata).
EXTENSION_KEY = "portal.oidc"
#: Seconds a call to the provider may take.
TIMEOUT = 10
#: Clock skew allowed when checking ``exp`` and ``iat``.
LEEWAY = 60


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; ``reason`` picks the page shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def init_app(app: Flask) -> None:
    """Register the provider and the routes, if the firm configured one.

    Without ``oidc_issuer`` nothing is registered: there is no route and no button.
    """
    settings: Settings = app.extensions["portal.settings"]
    name = provider_name(settings)
    app.context_processor(lambda: {"oidc_provider_name": name})
    if not settings.oidc_issuer:
        return
    secret = settings.oidc_client_secret  # required with oidc_issuer by the settings
    oauth = OAuth()
    oauth.init_app(app)
    oauth.register(
        name=CLIENT_NAME,
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret is not None else None,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": TIMEOUT,
        },
    )
    app.extensions[EXTENSION_KEY] = oauth
    app.register_blueprint(bp)


def provider_name(settings: Settings) -> str | None:
    """The name on the button: ``oidc_name``, else the issuer's host; None when not configured."""
    if not settings.oidc_issuer:
        return None
    return settings.oidc_name or urlsplit(settings.oidc_issuer).hostname or settings.oidc_issuer


def get_client() -> Any:
    """This app's Authlib client for the provider, its metadata loaded and checked.

    :raises requests.RequestException: if the provider cannot be reached.
    :raises SignInRefused: if the provider's metadata names another issuer (a mix-up).
    """
    client = current_app.extensions[EXTENSION_KEY].create_client(CLIENT_NAME)
    metadata = client.load_server_metadata()
    settings: Settings = current_app.extensions["portal.settings"]
    if str(metadata.get("issuer", "")).rstrip("/") != settings.oidc_issuer.rstrip("/"):
        log.warning("the identity provider's metadata names another issuer than oidc_issuer")
        raise SignInRefused("failed")
    return client


def id_token_claims_options(client: Any) -> dict[str, dict[str, Any]]:
    """What the ID token must say, beyond its signature: our provider issued it, for us."""
    return {
        "iss": {"essential": True, "value": client.server_metadata["issuer"]},
        "aud": {"essential": True, "value": client.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }


def verify_id_token(client: Any, token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """Verify ``token["id_token"]`` the way the callback does, and return its claims.

    Checks the signature against the provider's published keys, then issuer, audience,
    expiry, ``nonce``, ``azp`` and (given an access token) ``at_hash``.

    :raises joserfc.errors.JoseError: if any check fails.
    """
    claims = client.parse_id_token(
        token, nonce=nonce, claims_options=id_token_claims_options(client), leeway=LEEWAY
    )
    if claims is None:
        raise SignInRefused("failed")
    return dict(claims)


@bp.get("/start")
def start() -> Response | tuple[str, int]:
    """Send the visitor to the provider to sign in."""
    # Authlib keeps each start's state, nonce and PKCE verifier in the session and clears
    # them only at a callback: starts without one (a retry, the back button) would grow the
    # session cookie past what browsers keep. Only the newest start can come back.
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        session.pop(key)
    try:
        client = get_client()
        # as registered at the provider
        redirect_uri = current_app.extensions["portal.settings"].public_url(
            url_for("oidc.callback")
        )
        response: Response = client.authorize_redirect(
            redirect_uri, ui_locales=str(get_locale() or "nl")
        )
    except SignInRefused as exc:
        return _failure(exc.reason)
    except (requests.RequestException, ValueError, KeyError) as exc:
        log.warning("identity provider unreachable at sign-in start (%s)", type(exc).__name__)
        return _failure("unreachable")
    return response


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    """The provider sends the visitor back here; sign them in if it vouches for the address."""
    try:
        email = _verified_email()
    except SignInRefused as exc:
        log.info("sign-in through the identity provider refused (%s)", exc.reason)
        return _failure(exc.reason)

    from .services import InvalidIdentifier, sign_in_with_verified_email

    target = after_sign_in_url()  # signing in starts a new session
    try:
        sign_in_with_verified_email(email, method=METHOD)
    except InvalidIdentifier:
        db.session.rollback()
        log.info("sign-in through the identity provider refused (no_email)")
        return _failure("no_email")
    db.session.commit()
    return redirect(target)


def _verified_email() -> str:
    """Finish the flow and return the e-mail address the provider vouches for.

    :raises SignInRefused: with the reason, for every way the flow can fail.
    """
    if request.args.get("error"):
        cancelled = request.args["error"] in {"access_denied", "login_required"}
        raise SignInRefused("cancelled" if cancelled else "failed")
    try:
        client = get_client()
        # RFC 9207: the answer must name our provider (mix-up attacks); required when the
        # provider says it always sends it.
        issuer = request.args.get("iss")
        iss_promised = client.server_metadata.get("authorization_response_iss_parameter_supported")
        if (issuer is None and iss_promised) or (
            issuer is not None and issuer != client.server_metadata["issuer"]
        ):
            raise SignInRefused("failed")
        token = client.authorize_access_token(
            claims_options=id_token_claims_options(client), leeway=LEEWAY
        )
        id_claims = token.get("userinfo")
        if not id_claims:  # no ID token, or it was not checked: never trust the rest
            raise SignInRefused("failed")
        claims = dict(id_claims)
        if "email" not in claims and client.server_metadata.get("userinfo_endpoint"):
            # Providers may put the e-mail claims only in the UserInfo response (OIDC core 5.4);
            # its subject must be the ID token's (OIDC core 5.3.2).
            userinfo = dict(client.userinfo(token=token))
            if userinfo.get("sub") != claims["sub"]:
                raise SignInRefused("failed")
            claims = userinfo
    except MismatchingStateError as exc:
        raise SignInRefused("expired") from exc
    except (AuthlibBaseError, JoseError) as exc:
        log.warning("identity provider answer not accepted (%s)", type(exc).__name__)
        raise SignInRefused("failed") from exc
    except (requests.RequestException, ValueError, KeyError) as exc:
        log.warning("identity provider unreachable at sign-in (%s)", type(exc).__name__)
        raise SignInRefused("unreachable") from exc
    return _email_from(claims)


def _email_from(claims: dict[str, Any]) -> str:
    """The e-mail claim, only if the provider says it verified it.

    ``email_verified`` must be true; the string ``"true"`` is accepted because some providers
    (Amazon Cognito) send booleans as strings.
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        raise SignInRefused("no_email")
    verified = claims.get("email_verified")
    if not (verified is True or (isinstance(verified, str) and verified.lower() == "true")):
        raise SignInRefused("unverified")
    return email


def _failure(reason: str) -> tuple[str, int]:
    """The page for a sign-in that did not work, in the visitor's language."""
    settings: Settings = current_app.extensions["portal.settings"]
    name = provider_name(settings) or ""
    pages = {
        "unreachable": (
            503,
            _("Signing in with %(name)s is not possible right now", name=name),
            _(
                "%(name)s cannot be reached at the moment. Please try again later, or sign "
                "in with a code sent to your e-mail address.",
                name=name,
            ),
        ),
        "unverified": (
            403,
            _("Your e-mail address has not been confirmed"),
            _(
                "%(name)s has not confirmed that the e-mail address of your account is yours, "
                "so we cannot use it to sign you in. You have not been signed in. Confirm the "
                "address at %(name)s first, or sign in with a code sent to your e-mail address.",
                name=name,
            ),
        ),
        "no_email": (
            403,
            _("%(name)s did not share an e-mail address", name=name),
            _(
                "We need a confirmed e-mail address to find your data. %(name)s did not send "
                "one, so you have not been signed in. Sign in with a code sent to your e-mail "
                "address instead.",
                name=name,
            ),
        ),
        "cancelled": (
            400,
            _("Signing in was cancelled"),
            _("You have not been signed in. You can start again whenever you like."),
        ),
        "expired": (
            400,
            _("This sign-in attempt is no longer valid"),
            _(
                "It took too long, or it was started in another browser window. You have not "
                "been signed in. Please start again."
            ),
        ),
        "failed": (
            400,
            _("Signing in with %(name)s did not succeed", name=name),
            _(
                "The answer from %(name)s could not be verified, so you have not been signed "
                "in. Please start again; if it keeps happening, sign in with a code sent to "
                "your e-mail address.",
                name=name,
            ),
        ),
    }
    status, title, message = pages[reason]
    return render_template("auth/oidc_error.html", title=title, message=message), status
