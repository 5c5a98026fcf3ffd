"""Views of signing in and out, and of the customer's account and identifiers.

Thin: validate the form, call a service, commit, then redirect (POST/redirect/GET) or render.
Every POST is covered by CSRF; asking for and entering codes are rate-limited per IP address
and per e-mail address.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..kept_input import BUTTON, keeps_input
from ..settings import Settings
from ..tasks import enqueue_mail
from . import known_browser, services
from .forms import CodeForm, ConfirmForm, EmailForm, IdentifierForm
from .services import (
    LOGIN_ATTEMPT,
    VERIFY_ATTEMPT,
    ChallengeError,
    ChallengeProblem,
    IdentifierTaken,
    InvalidIdentifier,
)
from .targets import after_sign_in_url

bp = Blueprint("auth", __name__)

#: Problems after which the code can no longer be used: the page offers a new one instead.
DEAD = {
    ChallengeProblem.MISSING,
    ChallengeProblem.OTHER_BROWSER,
    ChallengeProblem.EXPIRED,
    ChallengeProblem.USED,
    ChallengeProblem.REPLACED,
    ChallengeProblem.LOCKED,
}


def _settings() -> Settings:
    settings: Settings = current_app.extensions["portal.settings"]
    return settings


def _locale() -> str:
    return str(get_locale() or _settings().default_locale)


def _address_key() -> str:
    """Rate-limit key of the e-mail address a request is about (a keyed hash, never the value).

    The address typed in the form, else the address of this browser's pending attempt. A
    browser known for that address (someone signed in with it there) counts under its own key,
    so strangers using up the address's shared allowance do not lock it out
    (:mod:`portal.auth.known_browser`).
    """
    address = _address_hash()
    return known_browser.rate_key(address) or "addr:" + address


def _address_hash() -> str:
    """The keyed hash of the address a request is about; ``invalid`` for an address typed
    wrongly, ``none`` for no address (each one shared key).

    Only the two forms where an address is typed are read for it: signing in (``email``) and
    adding an e-mail address (``value``). Every other form (a code, a new code, a link, the
    code that confirms an address) counts under the address of this browser's pending attempt,
    whatever fields were added to it: a field the form does not have must not choose the
    budget it is counted in (a new made-up address per request would be a new budget).
    Adding a phone or customer number sends nothing: it counts per customer.
    """
    typed: str | None = None
    if request.endpoint == "auth.login":
        typed = request.form.get("email")
    elif request.endpoint == "auth.add_identifier":
        if request.form.get("kind") != "email":
            return f"customer:{current_user.id}"  # never get_id(): the session token
        typed = request.form.get("value")
    if typed is not None:
        try:
            return services.email_hash(services.normalize_mailbox(typed))
        except InvalidIdentifier:
            return "invalid"
    key = VERIFY_ATTEMPT if request.endpoint == "auth.verify_email" else LOGIN_ATTEMPT
    attempt = session.get(key) or {}
    return str(attempt.get("addr", "none"))


def _request_ip_limit() -> str:
    return _settings().login_rate_per_ip


def _request_address_limit() -> str:
    return _settings().login_rate_per_address


def _code_ip_limit() -> str:
    return _settings().code_rate_per_ip


def _code_address_limit() -> str:
    return _settings().code_rate_per_address


#: Asking for a code (sign-in, a new code, verifying another address) shares one budget.
limit_requests = [
    limiter.shared_limit(_request_ip_limit, scope="auth-request-ip", methods=["POST"]),
    limiter.shared_limit(
        _request_address_limit,
        scope="auth-request-address",
        key_func=_address_key,
        methods=["POST"],
    ),
]
#: Entering codes and using links shares another.
limit_codes = [
    limiter.shared_limit(_code_ip_limit, scope="auth-code-ip", methods=["POST"]),
    limiter.shared_limit(
        _code_address_limit, scope="auth-code-address", key_func=_address_key, methods=["POST"]
    ),
]


def _limited(limits: list[Any]) -> Any:
    def decorate(view: Any) -> Any:
        for limit in reversed(limits):
            view = limit(view)
        return view

    return decorate


def _remember_attempt(key: str, issued: services.IssuedChallenge) -> None:
    session[key] = {
        "id": issued.challenge_id,
        "nonce": issued.nonce,
        "addr": issued.address_hash,
    }


def problem_message(problem: ChallengeProblem, attempts_left: int = 0) -> str:
    """What the customer reads when a code or link did not work."""
    minutes = _settings().login_code_minutes
    messages = {
        ChallengeProblem.MISSING: _("This code or link is not known. Ask for a new code."),
        ChallengeProblem.OTHER_BROWSER: _(
            "This link works only in the browser in which you asked for the code. Open it "
            "there, or ask for a new code here."
        ),
        ChallengeProblem.EXPIRED: _(
            "This code has expired: codes work for %(minutes)s minutes. Ask for a new code.",
            minutes=minutes,
        ),
        ChallengeProblem.USED: _("This code has already been used. Ask for a new code."),
        ChallengeProblem.REPLACED: _(
            "A newer code has been sent, so this one no longer works. Use the code from the "
            "most recent e-mail, or ask for a new code."
        ),
        ChallengeProblem.LOCKED: _(
            "A wrong code was entered too often, so this code no longer works. Ask for a new code."
        ),
        ChallengeProblem.WRONG: _(
            "This code is not right. Check the code in the e-mail. Attempts left: %(left)s.",
            left=attempts_left,
        ),
    }
    return messages[problem]


def link_problem_message(problem: ChallengeProblem) -> str:
    """What the customer reads when the link from the e-mail did not work: about the link they
    opened, not about a code they never typed."""
    minutes = _settings().login_code_minutes
    messages = {
        ChallengeProblem.EXPIRED: _(
            "This link has expired: links work for %(minutes)s minutes. Ask for a new code.",
            minutes=minutes,
        ),
        ChallengeProblem.USED: _("This link has already been used. Ask for a new code."),
        ChallengeProblem.REPLACED: _(
            "A newer e-mail has been sent, so this link no longer works. Use the link or code "
            "from the most recent e-mail, or ask for a new code."
        ),
        ChallengeProblem.LOCKED: _(
            "A wrong code was entered too often, so this link no longer works. Ask for a new code."
        ),
    }
    return messages.get(problem) or problem_message(problem)


def _login_again() -> Response | tuple[str, int]:
    """The sign-in page again with the address typed (its form had expired)."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    return render_template("auth/login.html", form=EmailForm()), 200


def _signed_in_to_account(view: Any) -> Any:
    """A signed-in customer goes to their account before any limit counts their request: a
    code asked for someone else's address while signed in would use up that address's
    allowance without a mail to its owner."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_authenticated:
            return redirect(url_for("auth.account"))
        return view(*args, **kwargs)

    return wrapper


@bp.route("/inloggen", methods=["GET", "POST"])
@keeps_input(_login_again, form=lambda: EmailForm, needs_customer=False)
@_signed_in_to_account
@_limited(limit_requests)
def login() -> Response | tuple[str, int]:
    """Ask for the e-mail address and send a sign-in code and link to it."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = EmailForm()
    if form.validate_on_submit():
        try:
            issued = services.request_login_code(
                form.email.data or "", _locale(), replacing=_attempt(LOGIN_ATTEMPT)
            )
        except InvalidIdentifier:
            form.email.errors = [_("Enter an e-mail address in the right format")]
        else:
            db.session.commit()
            _remember_attempt(LOGIN_ATTEMPT, issued)
            enqueue_mail(issued.outbox_id)
            return redirect(url_for("auth.enter_code"), code=303)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _attempt(key: str) -> tuple[int, str]:
    """This browser's attempt kept under ``key``: its challenge id and nonce (0 and "" for
    none, which no challenge has)."""
    attempt = session.get(key) or {}
    return int(attempt.get("id", 0)), str(attempt.get("nonce", ""))


def _attempt_email(key: str) -> str | None:
    try:
        return services.challenge_email(*_attempt(key))
    except ChallengeError:
        return None


def _code_page(form: CodeForm, email: str, problem: ChallengeProblem | None = None) -> str:
    return render_template(
        "auth/code.html",
        form=form,
        email=email,
        problem=problem,
        dead=problem in DEAD,
        problem_text=problem_message(problem) if problem in DEAD else None,
        resend_form=ConfirmForm(),
        minutes=_settings().login_code_minutes,
    )


def _code_again() -> Response | str:
    """The code page again with the code typed (its form, or the new-code button's, had
    expired); the way to sign-in if this browser has no attempt (any longer)."""
    email = _attempt_email(LOGIN_ATTEMPT)
    if not session.get(LOGIN_ATTEMPT) or email is None:
        return redirect(url_for("auth.login"))
    return _code_page(CodeForm(), email)


def _signed_in(target: str, address_hash: str) -> Response:
    """Commit a sign-in by e-mail code or link and go on to ``target``; this browser is known
    for the address from now on (its own allowance under the address's rate limits)."""
    db.session.commit()
    flash(_("You are signed in."), "success")
    response = redirect(target, code=303)
    known_browser.COOKIE.remember(response, address_hash)
    return response


@bp.route("/inloggen/code", methods=["GET", "POST"])
@keeps_input(_code_again, form=lambda: CodeForm, needs_customer=False)
@_limited(limit_codes)
def enter_code() -> Response | tuple[str, int]:
    """Enter the code from the e-mail, in the browser that asked for it."""
    attempt = session.get(LOGIN_ATTEMPT)
    email = _attempt_email(LOGIN_ATTEMPT)
    if not attempt or email is None:
        flash(_("Enter your e-mail address to get a sign-in code."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    problem: ChallengeProblem | None = None
    if form.validate_on_submit():
        target = after_sign_in_url()  # signing in starts a new session
        try:
            challenge = services.redeem_code(
                attempt["id"], attempt["nonce"], form.code.data or "", "login"
            )
            services.complete_login(challenge, "email_code")
        except ChallengeError as exc:
            db.session.commit()  # keep the count of wrong codes
            problem = exc.problem
            if problem is ChallengeProblem.WRONG:
                form.code.errors = [problem_message(problem, exc.attempts_left)]
        else:
            return _signed_in(target, challenge.email_hash)
    status = 400 if (form.errors or problem) else 200
    return _code_page(form, email, problem), status


@bp.post("/inloggen/nieuwe-code")
@keeps_input(_code_again, needs_customer=False, message=BUTTON)
@_limited(limit_requests)
def resend() -> Response:
    """Send a new code to the address of this browser's attempt; older codes stop working."""
    try:
        issued = services.resend_login_code(*_attempt(LOGIN_ATTEMPT), _locale())
    except ChallengeError:
        flash(_("Enter your e-mail address to get a sign-in code."), "info")
        return redirect(url_for("auth.login"), code=303)
    db.session.commit()
    _remember_attempt(LOGIN_ATTEMPT, issued)
    enqueue_mail(issued.outbox_id)
    flash(_("We sent you a new code. Codes in earlier e-mails no longer work."), "success")
    return redirect(url_for("auth.enter_code"), code=303)


def _link_again(token: str) -> tuple[str, int]:
    """The page of the e-mail's link again, for a new press of its button."""
    problem = services.link_problem(token, (session.get(LOGIN_ATTEMPT) or {}).get("nonce"))
    return render_template(
        "auth/link.html",
        form=ConfirmForm(),
        problem=problem,
        problem_text=link_problem_message(problem) if problem else None,
    ), 400 if problem else 200


@bp.route("/inloggen/link/<token>", methods=["GET", "POST"])
@keeps_input(_link_again, needs_customer=False, message=BUTTON)
@_limited(limit_codes)
def link(token: str) -> Response | tuple[str, int]:
    """The link from the e-mail. A GET only shows a button (mail scanners open links); the
    POST of that button signs in, and only in the browser that asked for the code."""
    nonce = (session.get(LOGIN_ATTEMPT) or {}).get("nonce")
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        target = after_sign_in_url()  # signing in starts a new session
        try:
            challenge = services.redeem_link(token, nonce)
            services.complete_login(challenge, "email_link")
        except ChallengeError as exc:
            db.session.rollback()
            problem: ChallengeProblem | None = exc.problem
        else:
            return _signed_in(target, challenge.email_hash)
    else:
        problem = services.link_problem(token, nonce)
    return render_template(
        "auth/link.html",
        form=form,
        problem=problem,
        problem_text=link_problem_message(problem) if problem else None,
    ), 400 if problem else 200


def _logout_again() -> Response:
    """Signing out with a page that had expired: whoever is no longer signed in is told so;
    whoever still is presses the button again (a page of another site may not sign anyone
    out)."""
    if current_user.is_authenticated:
        flash(str(BUTTON), "warning")
        return redirect(url_for("auth.account"), code=303)
    flash(_("You are signed out."), "success")
    return redirect(url_for("public.home"), code=303)


@bp.post("/uitloggen")
@keeps_input(_logout_again, needs_customer=False, message=None)
def logout() -> Response:
    """Sign out: the server-side session ends, so the old cookie no longer works anywhere."""
    if ConfirmForm().validate_on_submit():
        services.end_current_session("logout")
        services.clear_cookie_session()
        db.session.commit()
        flash(_("You are signed out."), "success")
    return redirect(url_for("public.home"), code=303)


@bp.get("/account")
@login_required
def account() -> str:
    """The customer's account: last sign-in, identifiers (verified and pending), sign out."""
    identifiers = [(i, services.identifier_value(i)) for i in current_user.identifiers]
    return render_template(
        "auth/account.html",
        customer=current_user,
        current=services.current_session(),
        identifiers=identifiers,
        # the address this browser was sent a code for: the way back to entering it
        confirming=_attempt_email(VERIFY_ATTEMPT) if session.get(VERIFY_ATTEMPT) else None,
        logout_form=ConfirmForm(),
        known_browser=_known_for_me(identifiers),
        forget_form=ConfirmForm(),
    )


def _known_for_me(identifiers: list[tuple[Any, str]]) -> bool:
    """Whether this browser is known for one of the signed-in customer's confirmed addresses
    (a cookie that lists only someone else's, on a shared computer, is not theirs to see)."""
    known = known_browser.COOKIE.current()
    return known is not None and any(
        services.email_hash(value) in known.accounts
        for identifier, value in identifiers
        if identifier.kind == "email" and identifier.is_verified
    )


def _forget_browser_again() -> Response:
    """The "forget this browser" button of a page that had expired: back to the account, to
    press again."""
    return redirect(url_for("auth.account"), code=303)


@bp.post("/account/browser-vergeten")
@keeps_input(_forget_browser_again, message=BUTTON)
@login_required
def forget_browser() -> Response:
    """Forget this browser: it no longer has its own sign-in allowance for the addresses signed
    in with here (others on a shared computer, say, need not know it was used). It stays
    signed in."""
    response = redirect(url_for("auth.account"), code=303)
    if ConfirmForm().validate_on_submit():
        known_browser.COOKIE.forget(response)
        flash(_("This browser has been forgotten."), "success")
    return response


def _identifier_again() -> tuple[str, int]:
    """The form to add an identifier again, with what was typed."""
    return render_template("auth/add_identifier.html", form=IdentifierForm()), 200


@bp.route("/account/toevoegen", methods=["GET", "POST"])
@keeps_input(_identifier_again, form=lambda: IdentifierForm)
@login_required
@_limited(limit_requests)
def add_identifier() -> Response | tuple[str, int]:
    """Add another e-mail address (verified by code) or a phone or customer number (by proof)."""
    form = IdentifierForm()
    if form.validate_on_submit():
        kind = form.kind.data or ""
        value = form.value.data or ""
        try:
            if kind == "email":
                _ident, issued = services.request_email_verification(
                    current_user, value, _locale(), replacing=_attempt(VERIFY_ATTEMPT)
                )
                db.session.commit()
                _remember_attempt(VERIFY_ATTEMPT, issued)
                enqueue_mail(issued.outbox_id)
                return redirect(url_for("auth.verify_email"), code=303)
            if not (form.proof.data or "").strip():
                form.proof.errors = [_("Enter the number of an invoice we sent you")]
            else:
                ident = services.add_identifier(
                    current_user, kind, value, "invoice_number", form.proof.data or "", _locale()
                )
                told = _tell_staff() if ident.status == "pending" else None
                db.session.commit()
                if told is not None:
                    enqueue_mail(told)
                flash(
                    _(
                        "Thank you. We check your proof; until we have, the number is shown "
                        "as pending and is not used to find your data."
                    ),
                    "success",
                )
                return redirect(url_for("auth.account"), code=303)
        except InvalidIdentifier:
            db.session.rollback()
            form.value.errors = [
                _("This is not a valid e-mail address, phone number or customer number")
            ]
        except IdentifierTaken:
            db.session.rollback()
            form.value.errors = [_("You have already added and confirmed this.")]
    return render_template("auth/add_identifier.html", form=form), 400 if form.errors else 200


def _tell_staff() -> int | None:
    """The privacy contact hears that a number waits to be checked (at most once a day)."""
    from ..backoffice.identifiers import tell_staff  # the back office imports this package

    return tell_staff()


def _verify_again() -> Response | tuple[str, int]:
    """The page to confirm an added address again, with the code typed."""
    email = _attempt_email(VERIFY_ATTEMPT)
    if not session.get(VERIFY_ATTEMPT) or email is None:
        return redirect(url_for("auth.account"))
    return render_template(
        "auth/verify_email.html", form=CodeForm(), email=email, dead=False, taken=False,
        problem_text=None,
    ), 200  # fmt: skip


@bp.route("/account/adres-bevestigen", methods=["GET", "POST"])
@keeps_input(_verify_again, form=lambda: CodeForm)
@login_required
@_limited(limit_codes)
def verify_email() -> Response | tuple[str, int]:
    """Enter the code sent to an address the customer added."""
    attempt = session.get(VERIFY_ATTEMPT)
    email = _attempt_email(VERIFY_ATTEMPT)
    if not attempt or email is None:
        return redirect(url_for("auth.account"))
    form = CodeForm()
    problem: ChallengeProblem | None = None
    taken = False
    if form.validate_on_submit():
        try:
            services.complete_email_verification(
                current_user, attempt["id"], attempt["nonce"], form.code.data or ""
            )
        except ChallengeError as exc:
            db.session.commit()
            problem = exc.problem
            if problem is ChallengeProblem.WRONG:
                form.code.errors = [problem_message(problem, exc.attempts_left)]
        except IdentifierTaken:
            db.session.rollback()
            taken = True
        else:
            db.session.commit()
            session.pop(VERIFY_ATTEMPT, None)
            flash(_("The e-mail address is confirmed."), "success")
            confirmed = redirect(url_for("auth.account"), code=303)
            # confirmed here as sign-in codes are: its own allowance in this browser too
            known_browser.COOKIE.remember(confirmed, str(attempt["addr"]))
            return confirmed
    return render_template(
        "auth/verify_email.html",
        form=form,
        email=email,
        dead=problem in DEAD,
        taken=taken,
        problem_text=problem_message(problem) if problem in DEAD else None,
    ), 400 if (form.errors or problem or taken) else 200
