"""Views of the back office: signing in (password, then TOTP, a recovery code or a passkey),
enrolling an authenticator app, the dashboard, managing staff and one's own account with its
passkeys.

Thin: validate the form, call :mod:`.auth`, commit, then redirect (POST/redirect/GET) or render.
Every POST is covered by CSRF; the password and code steps are rate-limited per IP address and
per account, on top of the lock-out after :data:`auth.MAX_FAILURES` failures. The passkey views
answer the first-party script ``static/passkeys.js`` in JSON (CSRF token in a header) and share
the rate limits of the code steps.
"""

from __future__ import annotations

from typing import Any

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from ..extensions import db, limiter
from ..kept_input import BUTTON, form_expired
from ..models import (
    DataRequest,
    RequestStatus,
    StaffMember,
    StaffRole,
    StaffSession,
)
from ..settings import Settings
from . import auth, known_browser, passkeys
from .decorators import (
    current_staff,
    current_staff_session,
    keeps_staff_input,
    load_staff,
    officer_required,
    pending_step,
    second_factor_done,
    staff_required,
)
from .forms import (
    CodeForm,
    ConfirmForm,
    DisableForm,
    NewStaffForm,
    PasskeyForm,
    PasswordChangeForm,
    RecoveryCodeForm,
    RoleForm,
    SignInForm,
)

bp = Blueprint(
    "staff",
    __name__,
    url_prefix="/beheer",
    static_folder="static",
    static_url_path="/static",
)

#: What staff call each status on the dashboard.
STATUS_NAMES = {
    RequestStatus.RECEIVED: _l("Received"),
    RequestStatus.IN_PROGRESS: _l("In progress"),
    RequestStatus.EXTENDED: _l("Extended"),
    RequestStatus.WAITING_FOR_CUSTOMER: _l("Waiting for the customer"),
}
ROLE_NAMES = {
    StaffRole.OFFICER.value: _l("Privacy officer"),
    StaffRole.AGENT.value: _l("Agent"),
}


def _settings() -> Settings:
    settings: Settings = current_app.extensions["portal.settings"]
    return settings


# --- session loading, headers, errors ---------------------------------------------------------


bp.before_request(load_staff)


@bp.after_request
def _no_store(response: Response) -> Response:
    """Nothing of the back office is kept by a browser or proxy, or indexed."""
    if request.endpoint != "staff.static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # After both sign-in steps: this browser becomes known for the member.
    return known_browser.apply(response)


@bp.app_context_processor
def _staff_context() -> dict[str, Any]:
    return {
        "staff_member": current_staff,
        "staff_signed_in": second_factor_done,
        "role_names": ROLE_NAMES,
    }


def _error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 400
    return render_template("staff/error.html", code=code), code


def _form_expired(error: CSRFError) -> ResponseReturnValue:
    """A form whose token no longer fits: a form that keeps its input comes back filled in
    (:func:`.decorators.keeps_staff_input`); any other says it expired and nothing was done."""
    kept = form_expired()
    if kept is not None:
        return kept
    return render_template("staff/error.html", code=400, form_expired=True), 400


def register_errors(blueprint: Blueprint) -> None:
    """The back office's own error pages (its layout, its links) on ``blueprint``."""
    for code in (400, 403, 429):
        blueprint.register_error_handler(code, _error)
    # Before the 400 page: Flask takes a blueprint's handler for the code over the app's.
    blueprint.register_error_handler(CSRFError, _form_expired)


register_errors(bp)


# --- rate limits ------------------------------------------------------------------------------


def _account_key() -> str:
    """Rate-limit key of the account a request is about: the typed address (as a keyed hash,
    never the value) on the sign-in page, else the staff id of this browser's session. A
    browser known for that member (:mod:`.known_browser`) counts under a key of its own, so
    strangers who use up the shared one do not lock the member out."""
    if request.endpoint == "staff.login":
        typed = request.form.get("email", "")
        shared = auth.address_rate_key(typed)
        # Only a browser with a staff cookie costs a look-up of the address.
        if known_browser.COOKIE.current() is None:
            return shared
        member = auth.find_by_email(typed)
        browser_id = known_browser.browser_id(member.id) if member is not None else None
    else:
        data = session.get(auth.SESSION_KEY)
        staff_id = data.get("id") if isinstance(data, dict) else None
        shared = auth.member_rate_key(staff_id)
        browser_id = known_browser.browser_id(staff_id) if isinstance(staff_id, int) else None
    return shared if browser_id is None else f"{shared}:browser:{browser_id}"


def _login_ip_limit() -> str:
    return _settings().login_rate_per_ip


def _login_account_limit() -> str:
    return _settings().login_rate_per_address


def _code_ip_limit() -> str:
    return _settings().code_rate_per_ip


def _code_account_limit() -> str:
    return _settings().code_rate_per_address


def _refused(response: Response) -> bool:
    """Whether a sign-in step was refused (a wrong password or code, a form error: 4xx). Only
    these count towards the limits: a colleague who signs in several times a day, or an office
    behind one address, is never blocked by attempts that worked."""
    return response.status_code >= 400


#: Every attempt from one address counts here, whatever its outcome: the limits above count
#: a refusal only once it is answered, so many attempts sent at the same moment would all
#: pass their check first. Roomy enough for an office signing in together.
BURST_LIMIT = "20 per minute"


def _limited(ip_limit: Any, account_limit: Any, scope: str) -> Any:
    ip = limiter.shared_limit(ip_limit, scope=f"{scope}-ip", methods=["POST"], deduct_when=_refused)
    account = limiter.shared_limit(
        account_limit, scope=f"{scope}-account", key_func=_account_key, methods=["POST"],
        deduct_when=_refused,
    )  # fmt: skip
    burst = limiter.shared_limit(BURST_LIMIT, scope=f"{scope}-burst", methods=["POST"])

    def decorate(view: Any) -> Any:
        return burst(ip(account(view)))

    return decorate


limit_login = _limited(_login_ip_limit, _login_account_limit, auth.LOGIN_SCOPE)
limit_codes = _limited(_code_ip_limit, _code_account_limit, auth.CODE_SCOPE)


# --- helpers ----------------------------------------------------------------------------------


def _failure_message() -> str:
    return _(
        "Signing in did not work. Check your e-mail address and password. After %(count)s "
        "failed attempts, signing in is blocked for %(minutes)s minutes.",
        count=auth.MAX_FAILURES,
        minutes=auth.LOCK_MINUTES,
    )


def _code_failure_message() -> str:
    return _(
        "This code did not work. Wait for the next code in your app and try again. After "
        "%(count)s failed attempts, signing in is blocked for %(minutes)s minutes.",
        count=auth.MAX_FAILURES,
        minutes=auth.LOCK_MINUTES,
    )


def _fresh_code(form: CodeForm | NewStaffForm | RoleForm, step: str) -> bool:
    """Whether a privacy officer's form for a step on staff accounts is valid and holds a fresh
    code from their authenticator app (re-authentication, as for new recovery codes: a wrong
    code counts towards the lock-out and is audited). If not, the form carries the errors and
    nothing may be done. A code that worked is used up at once, even if the step then fails."""
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        return False
    try:
        auth.check_totp(g.staff, form.code.data or "", step)
    except auth.SignInError:
        db.session.commit()  # keep the count of failures and the audit entry
        form.code.errors = [_code_failure_message()]
        return False
    db.session.commit()
    return True


def _after_sign_in_url() -> str:
    member = current_staff()
    if member is not None and member.must_change_password:
        flash(_("You signed in with a one-time password. Choose your own password now."), "info")
        return url_for("staff.account")
    return url_for("staff.dashboard")


def _after_sign_in() -> Response:
    return redirect(_after_sign_in_url(), code=303)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _qr_svg(uri: str, label: str) -> Markup:
    """The QR code as inline SVG, made here (nothing leaves the server), with a text name."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None
    )
    # segno's SVG holds only paths and the URI's QR modules, nothing typed; the label is escaped.
    named = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(named)  # noqa: S704


def _pending_member() -> StaffMember | None:
    """The member of a session that has passed only the password."""
    row = current_staff_session()
    if row is None or row.second_factor_at is not None:
        return None
    return current_staff()


# --- signing in ---------------------------------------------------------------------------------


@bp.route("/inloggen", methods=["GET", "POST"])
@limit_login
def login() -> Response | tuple[str, int]:
    """E-mail address and password. One message for every failure: nothing tells whether an
    account exists, is disabled or is locked."""
    if current_staff_session() is not None:
        if second_factor_done():
            return redirect(url_for("staff.dashboard"))
        return redirect(url_for(pending_step()))
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        try:
            auth.sign_in_with_password(form.email.data or "", form.password.data or "")
        except auth.SignInError:
            db.session.commit()  # keep the count of failures and the audit entry
            failed = True
            form.email.errors = [_failure_message()]
        else:
            db.session.commit()
            return redirect(url_for(pending_step()), code=303)
    status = 400 if (form.errors or failed) else 200
    return render_template("staff/login.html", form=form), status


@bp.route("/tweestaps", methods=["GET", "POST"])
@limit_codes
def second_factor() -> Response | tuple[str, int]:
    """The second step: a code from the authenticator app, or a recovery code."""
    if second_factor_done():
        return redirect(url_for("staff.dashboard"))
    member = _pending_member()
    if member is None:
        flash(_("Sign in to see this page."), "info")
        return redirect(url_for("staff.login"))
    if not member.totp_enrolled:
        return redirect(url_for("staff.enrol"))
    use_recovery = request.method == "POST" and "recovery_code" in request.form
    # Two forms on one page; only the one that was sent reads the request.
    code_form = CodeForm(formdata=None) if use_recovery else CodeForm()
    recovery_form = RecoveryCodeForm() if use_recovery else RecoveryCodeForm(formdata=None)
    form: CodeForm | RecoveryCodeForm = recovery_form if use_recovery else code_form
    if form.validate_on_submit():
        value = (recovery_form.recovery_code.data if use_recovery else code_form.code.data) or ""
        try:
            result = auth.complete_second_factor(member, value, recovery=use_recovery)
        except auth.SignInError:
            db.session.commit()  # keep the count of failures and the audit entry
            if use_recovery:
                recovery_form.recovery_code.errors = [
                    _("This recovery code did not work. Check it, or use another one.")
                ]
            else:
                code_form.code.errors = [_code_failure_message()]
        else:
            db.session.commit()
            if result.recovery_codes_left is not None:
                flash(
                    _(
                        "You used a recovery code; it no longer works. You have %(left)s "
                        "recovery codes left. Make new ones on your account page if you are "
                        "running out.",
                        left=result.recovery_codes_left,
                    ),
                    "warning",
                )
            return _after_sign_in()
    status = 400 if (code_form.errors or recovery_form.errors) else 200
    return render_template(
        "staff/second_factor.html",
        form=code_form,
        recovery_form=recovery_form,
        passkey_sign_in=passkeys.available() and passkeys.count_of(member) > 0,
    ), status


@bp.route("/tweestaps/instellen", methods=["GET", "POST"])
@limit_codes
def enrol() -> Response | tuple[str, int]:
    """First sign-in: set up the authenticator app with a QR code (or the secret typed in),
    confirm it with a code, then see the recovery codes, once."""
    if second_factor_done():
        return redirect(url_for("staff.dashboard"))
    member = _pending_member()
    if member is None:
        flash(_("Sign in to see this page."), "info")
        return redirect(url_for("staff.login"))
    if member.totp_enrolled:
        return redirect(url_for("staff.second_factor"))
    pending = _live_session()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = auth.confirm_enrolment(member, pending, form.code.data or "")
        except auth.SignInError:
            db.session.commit()
            form.code.errors = [_code_failure_message()]
        else:
            db.session.commit()
            # Shown in this response only; never stored in the clear.
            return render_template(
                "staff/recovery_codes.html", codes=codes, first=True, next_url=_next_url()
            ), 200
    secret = auth.start_enrolment(member, pending)
    db.session.commit()
    issuer = current_app.jinja_env.globals["policy"].controller.name
    uri = auth.provisioning_uri(member, secret, issuer)
    return render_template(
        "staff/enrol.html",
        form=form,
        qr=_qr_svg(uri, _("QR code to scan with your authenticator app")),
        secret=_grouped(secret),
        issuer=issuer,
        account=member.email,
    ), 400 if form.errors else 200


def _next_url() -> str:
    member = current_staff()
    if member is not None and member.must_change_password:
        return url_for("staff.account")
    return url_for("staff.dashboard")


@bp.post("/uitloggen")
def logout() -> Response:
    """Sign out of the back office: the server-side session ends. A customer session in the
    same browser is left alone."""
    if ConfirmForm().validate_on_submit():
        auth.end_current_session("logout")
        db.session.commit()
        flash(_("You are signed out."), "success")
    return redirect(url_for("staff.login"), code=303)


# --- pages after signing in ---------------------------------------------------------------------


@bp.get("/")
@staff_required
def dashboard() -> str:
    """Open requests by status, with what needs attention first: overdue, due soon, waiting
    for the customer, not assigned, and assigned to this staff member (each a link into the
    queue); for a privacy officer also the numbers customers added that wait to be checked."""
    from .. import retention
    from ..backoffice import identifiers, queue
    from ..dsr import services as dsr_services

    rows = db.session.execute(
        select(DataRequest.status, func.count())
        .where(DataRequest.status.in_([s.value for s in STATUS_NAMES]))
        .group_by(DataRequest.status)
    ).all()
    found = {status: count for status, count in rows}
    counts = [(name, found.get(status.value, 0)) for status, name in STATUS_NAMES.items()]
    return render_template(
        "staff/dashboard.html",
        undated=retention.undated_by_request(),
        follow_ups=retention.deletions_due_by_request(),
        restrictions=dsr_services.restrictions_in_force(),
        counts=counts,
        total=sum(count for _name, count in counts),
        attention=queue.counts(staff_id=g.staff.id),
        due_soon_days=queue.DUE_SOON_DAYS,
        recovery_left=auth.recovery_codes_left(g.staff),
        # the numbers customers added, for those who may decide on them
        identifiers_pending=identifiers.pending_count() if g.staff.is_officer else None,
    )


@bp.route("/herstelcodes", methods=["GET", "POST"])
@staff_required
@limit_codes
def recovery_codes() -> Response | tuple[str, int]:
    """Make new recovery codes (the old ones stop working); needs a fresh code from the app."""
    member: StaffMember = g.staff
    form = CodeForm()
    if form.validate_on_submit():
        try:
            auth.check_totp(member, form.code.data or "", "recovery_codes")
        except auth.SignInError:
            db.session.commit()
            form.code.errors = [_code_failure_message()]
        else:
            codes = auth.new_recovery_codes(member)
            db.session.commit()
            return render_template(
                "staff/recovery_codes.html",
                codes=codes,
                first=False,
                next_url=url_for("staff.account"),
            ), 200
    return render_template(
        "staff/recovery.html", form=form, left=auth.recovery_codes_left(member)
    ), 400 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
@staff_required
@limit_codes
def account() -> Response | tuple[str, int]:
    """One's own account: change the password (needs the current one), recovery codes,
    passkeys."""
    member: StaffMember = g.staff
    form = PasswordChangeForm()
    if form.validate_on_submit():
        new = form.new_password.data or ""
        if auth.password_problem(new, member.email) is not None:
            form.new_password.errors = [
                _(
                    "Choose a password that does not contain the name in your e-mail address"
                    " (%(name)s, the part before the @).",
                    name=member.email.partition("@")[0],
                )
            ]
        else:
            try:
                auth.change_password(member, form.current_password.data or "", new)
            except auth.SignInError:
                db.session.commit()
                form.current_password.errors = [_("Your current password is not right.")]
            else:
                db.session.commit()
                flash(
                    _("Your password is changed. You were signed out everywhere else."), "success"
                )
                return redirect(url_for("staff.account"), code=303)
    return render_template(
        "staff/account.html",
        form=form,
        member=member,
        current=current_staff_session(),
        recovery_left=auth.recovery_codes_left(member),
        passkeys=passkeys.passkeys_of(member),
        passkeys_available=passkeys.available(),
        max_passkeys=passkeys.MAX_PASSKEYS,
        passkey_form=PasskeyForm(formdata=None),
        action_form=ConfirmForm(formdata=None),
        known_browser=known_browser.knows(member.id),
    ), 400 if form.errors else 200


def _account_again(**_ignored: Any) -> Response:
    """A button of the account page whose page had expired: back to the account, to press
    again."""
    return redirect(url_for("staff.account"), code=303)


@bp.post("/account/browser-vergeten")
@keeps_staff_input(_account_again, message=BUTTON)
@staff_required
def forget_browser() -> Response:
    """Forget this browser: it no longer has its own sign-in allowance for the members who
    signed in here (on a shared or borrowed computer, say), and the lock-out that wrong
    passwords typed elsewhere cause holds it too. The session stays signed in."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    response = redirect(url_for("staff.account"), code=303)
    known_browser.COOKIE.forget(response)
    flash(_("This browser has been forgotten."), "success")
    return response


# --- passkeys (optional, besides the authenticator app) -------------------------------------------

#: What to tell the staff member when adding a passkey is refused (see passkeys.PasskeyError).
PASSKEY_PROBLEMS = {
    "unavailable": _l("Passkeys cannot be used on this address of the back office."),
    "not_enrolled": _l("Set up your authenticator app first."),
    "too_many": _l("You have the maximum number of passkeys. Remove one first."),
    "no_challenge": _l("This took too long, or the page was used twice. Try again."),
    "invalid": _l("Your passkey could not be checked. Try again, or use another passkey."),
    "duplicate": _l("This passkey has already been added."),
    "none": _l("You have no passkeys. Enter a code from your authenticator app."),
}


def _json_error(message: str, status: int = 400, **extra: str) -> tuple[Response, int]:
    """An error for the passkey script: a message to show, and which field it is about."""
    return jsonify({"error": message, **extra}), status


def _json_options(options: str) -> Response:
    return current_app.response_class(options, mimetype="application/json")


def _credential() -> dict[str, Any]:
    """The browser's answer (a PublicKeyCredential as JSON); empty if it is not an object."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _live_session() -> StaffSession:
    row = current_staff_session()
    if row is None:  # the decorators and _pending_member already made sure
        abort(400)
    return row


def _passkey_failure_message() -> str:
    return _(
        "Signing in with your passkey did not work. Try again, or enter a code from your "
        "authenticator app. After %(count)s failed attempts, signing in is blocked for "
        "%(minutes)s minutes.",
        count=auth.MAX_FAILURES,
        minutes=auth.LOCK_MINUTES,
    )


@bp.post("/account/passkeys/opties")
@staff_required
@limit_codes
def passkey_options() -> Response | tuple[Response, int]:
    """Step 1 of adding a passkey: check its name and a fresh code from the authenticator app
    (re-authentication, counted like any code), then hand out the options with a challenge."""
    member: StaffMember = g.staff
    if not passkeys.available():
        return _json_error(str(PASSKEY_PROBLEMS["unavailable"]), 404)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return _json_error(str(PASSKEY_PROBLEMS["invalid"]))
    form = PasskeyForm(formdata=MultiDict(data))
    if not form.validate():
        field = next((name for name in form.errors if name != "csrf_token"), "name")
        return _json_error(str(form.errors.get(field, [""])[0]), field=field)
    try:
        auth.check_totp(member, form.code.data or "", "passkey_add")
    except auth.SignInError:
        db.session.commit()  # keep the count of failures and the audit entry
        return _json_error(_code_failure_message(), field="code")
    try:
        options = passkeys.registration_options(member, _live_session(), form.name.data or "")
    except passkeys.PasskeyError as exc:
        db.session.commit()  # the code is used up all the same
        return _json_error(str(PASSKEY_PROBLEMS[exc.reason]))
    db.session.commit()
    return _json_options(options)


@bp.post("/account/passkeys")
@staff_required
@limit_codes
def passkey_add() -> Response | tuple[Response, int]:
    """Step 2 of adding a passkey: check the browser's answer and store the passkey."""
    member: StaffMember = g.staff
    try:
        passkey = passkeys.register(member, _live_session(), _credential())
    except passkeys.PasskeyError as exc:
        db.session.commit()  # the challenge is used up
        return _json_error(str(PASSKEY_PROBLEMS[exc.reason]))
    db.session.commit()
    flash(
        _(
            "Passkey “%(name)s” added. At sign-in you can now use it instead of a code.",
            name=passkey.name,
        ),
        "success",
    )
    return jsonify({"redirect": url_for("staff.account", _anchor="passkeys")})


@bp.post("/account/passkeys/<int:passkey_id>/verwijderen")
@keeps_staff_input(_account_again, message=BUTTON)
@staff_required
def passkey_remove(passkey_id: int) -> Response:
    """Remove one of one's own passkeys (a plain form: works without JavaScript). Someone
    else's passkey is not found."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = passkeys.remove(g.staff, passkey_id)
    if name is None:
        abort(404)
    db.session.commit()
    flash(_("Passkey “%(name)s” removed. It no longer works here.", name=name), "success")
    return redirect(url_for("staff.account", _anchor="passkeys"), code=303)


@bp.post("/tweestaps/passkey/opties")
def passkey_sign_in_options() -> Response | tuple[Response, int]:
    """Options to sign in with a passkey, after the password: only one's own passkeys."""
    if second_factor_done():
        return jsonify({"redirect": url_for("staff.dashboard")})
    member = _pending_member()
    if member is None:
        return _json_error(_("Sign in to see this page."), 401, redirect=url_for("staff.login"))
    try:
        options = passkeys.sign_in_options(member, _live_session())
    except passkeys.PasskeyError as exc:
        return _json_error(str(PASSKEY_PROBLEMS[exc.reason]), 404)
    db.session.commit()
    return _json_options(options)


@bp.post("/tweestaps/passkey")
@limit_codes
def passkey_sign_in() -> Response | tuple[Response, int]:
    """Sign in with a passkey instead of a code: refusals count towards the lock-out."""
    if second_factor_done():
        return jsonify({"redirect": url_for("staff.dashboard")})
    member = _pending_member()
    if member is None:
        return _json_error(_("Sign in to see this page."), 401, redirect=url_for("staff.login"))
    try:
        passkeys.complete_with_passkey(member, _live_session(), _credential())
    except auth.SignInError:
        db.session.commit()  # keep the count of failures and the audit entry
        return _json_error(_passkey_failure_message())
    db.session.commit()
    return jsonify({"redirect": _after_sign_in_url()})


# --- managing staff (privacy officers only) -----------------------------------------------------


@bp.get("/medewerkers")
@officer_required
def staff_list() -> str:
    """Every staff member, with the actions an officer can take."""
    members = db.session.scalars(
        select(StaffMember)
        .where(StaffMember.forgotten_at.is_(None))
        .order_by(StaffMember.active.desc(), StaffMember.display_name)
    ).all()
    return render_template(
        "staff/staff_list.html", members=members, action_form=ConfirmForm(), now=auth.utcnow()
    )


def _staff_new_again() -> tuple[str, int]:
    """The form to add a colleague again, with what was typed (but for the code: a new one
    is needed)."""
    form = NewStaffForm()
    form.code.data = ""
    return render_template("staff/staff_new.html", form=form), 200


@bp.route("/medewerkers/nieuw", methods=["GET", "POST"])
@keeps_staff_input(_staff_new_again, form=lambda: NewStaffForm, officer=True)
@officer_required
@limit_codes
def staff_new() -> Response | tuple[str, int]:
    """Add a colleague, confirmed with a fresh code from the officer's authenticator app. They
    get a one-time password, shown here once, which they change after their first sign-in,
    where they also set up their authenticator app."""
    form = NewStaffForm()
    if _fresh_code(form, "staff_new"):
        password = auth.new_one_time_password()
        try:
            member = auth.create_staff(
                form.email.data or "",
                form.display_name.data or "",
                form.role.data or "",
                password,
                actor_id=g.staff.id,
                must_change_password=True,
            )
        except auth.StaffExists:
            db.session.rollback()
            form.email.errors = [_("There already is a staff member with this e-mail address.")]
        else:
            db.session.commit()
            return render_template(
                "staff/one_time_password.html", member=member, password=password, new=True
            ), 200
    return render_template("staff/staff_new.html", form=form), 400 if form.errors else 200


def _member_or_404(staff_id: int) -> StaffMember:
    """The staff member ``staff_id``; 404 when there is none, or the retention sweep forgot
    them (a long-disabled member's row names nobody and cannot be managed any more)."""
    member = db.session.get(StaffMember, staff_id)
    if member is None or member.forgotten_at is not None:
        abort(404)
    return member


def _other_member(staff_id: int) -> StaffMember:
    member = _member_or_404(staff_id)
    if member.id == g.staff.id:
        abort(403)  # not on oneself: use the account page
    return member


#: What an officer confirms before a step that locks a colleague out or signs them out (the
#: endpoint, then the question and what happens; the button says the step again).
CONFIRMATIONS = {
    "staff.staff_disable": (
        _l("Disable %(name)s?"),
        _l("%(name)s can no longer sign in, and is signed out everywhere at once."),
        _l("Disable"),
    ),
    "staff.staff_reset_second_factor": (
        _l("Reset the authenticator app of %(name)s?"),
        _l(
            "%(name)s is signed out everywhere and gets a new one-time password: their current"
            " password stops working too. At the next sign-in they set up an authenticator app"
            " again and choose their own password. Their recovery codes and passkeys stop"
            " working. Do this when their phone is lost. You see the one-time password once, on"
            " the next page."
        ),
        _l("Reset authenticator app"),
    ),
    "staff.staff_new_password": (
        _l("Give %(name)s a new one-time password?"),
        _l(
            "Their current password stops working and they are signed out everywhere. You see"
            " the new one-time password once, on the next page."
        ),
        _l("New one-time password"),
    ),
}


def _confirm_page(
    member: StaffMember,
    form: ConfirmForm | DisableForm | CodeForm | None = None,
    open_requests: list[DataRequest] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The page that asks before a step on a colleague (GET of the step's own address)."""
    question, effect, button = CONFIRMATIONS[str(request.endpoint)]
    return render_template(
        "staff/confirm.html",
        member=member,
        question=str(question) % {"name": member.display_name},
        effect=str(effect) % {"name": member.display_name},
        button=button,
        form=form or ConfirmForm(),
        open_requests=open_requests or [],
    ), status


def _target(staff_id: int) -> StaffMember:
    """The colleague a step (a POST with its confirmation form) is about."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _other_member(staff_id)


def _confirmed_with_code(staff_id: int, step: str) -> tuple[StaffMember, tuple[str, int] | None]:
    """The colleague a step that gives them a new one-time password is about, and the
    confirmation page to answer instead: on a GET (it asks, with the code field), or when the
    code is missing or wrong (again, with the error; nothing done)."""
    member = _other_member(staff_id)
    if request.method == "GET":
        return member, _confirm_page(member, CodeForm(formdata=None))
    form = CodeForm()
    if not _fresh_code(form, step):
        return member, _confirm_page(member, form, status=400)
    return member, None


def _disable_form(
    staff_id: int,
) -> tuple[StaffMember, DisableForm, list[DataRequest], list[StaffMember]]:
    """The colleague to disable, the form (whom their open requests go to: nobody, or another
    active staff member), their open requests and those others."""
    from ..backoffice import queue

    member = _other_member(staff_id)
    others = [m for m in queue.staff_members() if m.id != member.id]
    form = DisableForm()
    form.hand_over_to.choices = [
        SelectChoice("", _("Nobody: they wait in the queue as not assigned"))
    ] + [SelectChoice(str(m.id), m.display_name) for m in others]
    return member, form, queue.open_assigned_to(member), others


def _disable_again(staff_id: int) -> tuple[str, int]:
    """The confirmation to disable a colleague again, with the choice that was made."""
    member, form, open_requests, _others = _disable_form(staff_id)
    return _confirm_page(member, form, open_requests)


def _with_code_again(staff_id: int) -> tuple[str, int]:
    """A confirmation with a code from the app again (the code is not put back)."""
    member = _other_member(staff_id)
    return _confirm_page(member, CodeForm(formdata=None))


def _staff_list_again(staff_id: int) -> tuple[str, int]:
    """The list of staff again, for a new press of a button whose page had expired."""
    _other_member(staff_id)  # the colleague must still be there (else: not found)
    return staff_list(), 200


def _role_again(staff_id: int) -> tuple[str, int]:
    """The role page again, with the role that was chosen (the code is not put back)."""
    member = _member_or_404(staff_id)
    form = RoleForm()
    form.code.data = ""
    return render_template(
        "staff/staff_role.html", form=form, member=member, myself=member.id == g.staff.id
    ), 200


@bp.route("/medewerkers/<int:staff_id>/uitschakelen", methods=["GET", "POST"])
@keeps_staff_input(_disable_again, form=lambda staff_id: DisableForm, officer=True)
@officer_required
def staff_disable(staff_id: int) -> Response | tuple[str, int]:
    """Disable a staff member: they can no longer sign in, and are signed out everywhere.

    Their open requests are handed over in the same step, to another active staff member or
    to nobody (the officer chooses on the confirmation page, which says how many there are),
    so none stays with someone who cannot work on it."""
    from ..backoffice import queue
    from ..dsr.services import RequestError

    member, form, open_requests, others = _disable_form(staff_id)
    if request.method == "GET":
        return _confirm_page(member, form, open_requests)
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        return _confirm_page(member, form, open_requests, status=400)
    to = next((m for m in others if str(m.id) == form.hand_over_to.data), None)
    try:
        moved = queue.hand_over(member, to, staff_id=g.staff.id)
    except RequestError:
        db.session.rollback()
        flash(
            _(
                "Someone changed one of their requests at the same moment, so nothing was done."
                " Check the requests and try again."
            ),
            "error",
        )
        return redirect(url_for("staff.staff_disable", staff_id=member.id), code=303)
    auth.set_active(member, False, actor_id=g.staff.id)
    db.session.commit()
    flash(_("%(name)s can no longer sign in.", name=member.display_name), "success")
    if moved and to is not None:
        flash(
            ngettext(
                "%(num)d open request is now assigned to %(name)s.",
                "%(num)d open requests are now assigned to %(name)s.",
                len(moved),
                name=to.display_name,
            ),
            "success",
        )
    elif moved:
        flash(
            ngettext(
                "%(num)d open request is now assigned to nobody.",
                "%(num)d open requests are now assigned to nobody.",
                len(moved),
            ),
            "success",
        )
    return redirect(url_for("staff.staff_list"), code=303)


@bp.route("/medewerkers/<int:staff_id>/rol", methods=["GET", "POST"])
@keeps_staff_input(_role_again, form=lambda staff_id: RoleForm, officer=True)
@officer_required
@limit_codes
def staff_role(staff_id: int) -> Response | tuple[str, int]:
    """Make a staff member a privacy officer or an agent (oneself too, unless one is the last
    active privacy officer: someone must be able to manage staff), confirmed with a fresh code
    from the officer's authenticator app. Audited; the new role applies from the member's
    next page."""
    member = _member_or_404(staff_id)
    form = RoleForm(role=member.role) if request.method == "GET" else RoleForm()
    status = 200
    if _fresh_code(form, "staff_role"):
        try:
            changed = auth.set_role(member, form.role.data or "", actor_id=g.staff.id)
        except auth.LastOfficer:
            db.session.rollback()
            form.role.errors = [
                _(
                    "%(name)s is the last active privacy officer. Make someone else a privacy"
                    " officer first: someone must be able to manage staff.",
                    name=member.display_name,
                )
            ]
            status = 409
        else:
            db.session.commit()
            if not changed:
                flash(
                    _("Nothing changed: %(name)s already has this role.", name=member.display_name),
                    "info",
                )
            else:
                flash(
                    _(
                        "%(name)s is now: %(role)s.",
                        name=member.display_name,
                        role=ROLE_NAMES[member.role],
                    ),
                    "success",
                )
            if not g.staff.is_officer:  # one's own role, given up: staff pages are closed now
                return redirect(url_for("staff.dashboard"), code=303)
            return redirect(url_for("staff.staff_list"), code=303)
    elif form.errors:
        status = 400
    return render_template(
        "staff/staff_role.html", form=form, member=member, myself=member.id == g.staff.id
    ), status


@bp.post("/medewerkers/<int:staff_id>/inschakelen")
@keeps_staff_input(_staff_list_again, officer=True, message=BUTTON)
@officer_required
def staff_enable(staff_id: int) -> Response:
    """Let a disabled staff member sign in again."""
    member = _target(staff_id)
    auth.set_active(member, True, actor_id=g.staff.id)
    db.session.commit()
    if member.sign_in_erased:
        flash(
            _(
                "%(name)s is enabled again. Their password and authenticator app were erased"
                " while they were disabled: give them a new one-time password to sign in"
                " with.",
                name=member.display_name,
            ),
            "success",
        )
    else:
        flash(_("%(name)s can sign in again.", name=member.display_name), "success")
    return redirect(url_for("staff.staff_list"), code=303)


@bp.route("/medewerkers/<int:staff_id>/tweestaps-herstellen", methods=["GET", "POST"])
@keeps_staff_input(_with_code_again, officer=True, message=BUTTON)
@officer_required
@limit_codes
def staff_reset_second_factor(staff_id: int) -> Response | tuple[str, int]:
    """Forget a staff member's authenticator app, recovery codes and passkeys (a lost phone),
    and give them a new one-time password, shown once (the password may be known to whoever
    has the phone): they sign in with it, set up the app again and choose their own password.
    Confirmed with a fresh code from the officer's authenticator app."""
    member, refused = _confirmed_with_code(staff_id, "staff_reset_second_factor")
    if refused is not None:
        return refused
    password = auth.new_one_time_password()
    auth.reset_second_factor(member, actor_id=g.staff.id, one_time_password=password)
    db.session.commit()
    return render_template(
        "staff/one_time_password.html", member=member, password=password, reset=True
    ), 200


@bp.post("/medewerkers/<int:staff_id>/ontgrendelen")
@keeps_staff_input(_staff_list_again, officer=True, message=BUTTON)
@officer_required
def staff_unlock(staff_id: int) -> Response:
    """Lift a lock-out after too many failed attempts."""
    member = _target(staff_id)
    auth.unlock(member, actor_id=g.staff.id)
    db.session.commit()
    flash(_("%(name)s can try to sign in again.", name=member.display_name), "success")
    return redirect(url_for("staff.staff_list"), code=303)


@bp.route("/medewerkers/<int:staff_id>/wachtwoord", methods=["GET", "POST"])
@keeps_staff_input(_with_code_again, officer=True, message=BUTTON)
@officer_required
@limit_codes
def staff_new_password(staff_id: int) -> Response | tuple[str, int]:
    """Give a staff member who forgot their password a new one-time password, shown once.
    Confirmed with a fresh code from the officer's authenticator app."""
    member, refused = _confirmed_with_code(staff_id, "staff_new_password")
    if refused is not None:
        return refused
    password = auth.new_one_time_password()
    auth.set_one_time_password(member, password, actor_id=g.staff.id)
    db.session.commit()
    return render_template(
        "staff/one_time_password.html", member=member, password=password, new=False
    ), 200
