"""Views of the customer's data: the overview, one category page by page, and gathering again.

Every route requires a signed-in customer and only ever shows that customer's own snapshot.
Pages with personal data are never stored by the browser or a proxy (``no-store``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..gathering import current_or_gather, gather_for
from ..kept_input import BUTTON, keeps_input
from ..policy import current_policy
from ..settings import firm_today
from . import services
from .forms import GatherForm
from .texts import format_day

bp = Blueprint("customer", __name__, url_prefix="/mijn-gegevens")

#: Gathering asks every source again; a customer has no need to do that more often.
GATHER_LIMIT = "10 per minute"


@bp.context_processor
def _helpers() -> dict[str, object]:
    return {
        "day": format_day,
        "children_preview": services.CHILDREN_PREVIEW,
        "today": firm_today(),
        "sources": {source.key: source for source in current_policy().sources},
    }


def _overview() -> services.Overview:
    snapshot = current_or_gather(current_user)
    db.session.commit()  # a live gathering is kept for the next page view
    return services.build_overview(current_policy(), snapshot)


@bp.get("/")
@login_required
def overview() -> str:
    """What the firm holds about the customer: a summary first, then per category."""
    return render_template(
        "customer/overview.html",
        overview=_overview(),
        form=GatherForm(),
        preview_size=services.PREVIEW_SIZE,
    )


@bp.get("/<category>")
@login_required
def category(category: str) -> str:
    """One category's records, page by page (``?pagina=2``)."""
    overview = _overview()
    section = overview.category(category)
    if section is None:
        abort(404)
    page = section.page(request.args.get("pagina", 1, type=int) or 1)
    return render_template(
        "customer/category.html", overview=overview, section=section, page=page, form=GatherForm()
    )


@bp.get("/<category>/gegeven")
@login_required
def record(category: str) -> str:
    """One record of a category with all its related records (a ticket's messages, an
    order's notes), page by page: ``?bron=…&soort=…&id=…&pagina=2``."""
    overview = _overview()
    section = overview.category(category)
    if section is None:
        abort(404)
    args = request.args
    entry = section.entry(args.get("bron", ""), args.get("soort", ""), args.get("id", ""))
    if entry is None:
        abort(404)  # not (or no longer) one of this customer's records
    page = services.children_page(entry, args.get("pagina", 1, type=int) or 1)
    return render_template(
        "customer/record.html",
        overview=overview,
        section=section,
        entry=entry,
        page=page,
        form=GatherForm(),
    )


def _gather_again_expired() -> Response:
    """The "try again" button of a page that had expired: back to the overview, to press
    again."""
    return redirect(url_for("customer.overview"), code=303)


@bp.post("/opnieuw")
@keeps_input(_gather_again_expired, message=BUTTON)
@login_required
@limiter.limit(GATHER_LIMIT)
def gather_again() -> Response:
    """Gather live from every source again (the "try again" button)."""
    if GatherForm().validate_on_submit():
        snapshot = gather_for(current_user)
        db.session.commit()
        if snapshot.complete:
            flash(_("We gathered your data again. Every system answered."), "success")
        else:
            flash(
                _("We gathered your data again, but not every system answered completely."),
                "warning",
            )
    back = request.form.get("category")
    if back and current_policy().category(back) is not None:
        return redirect(url_for("customer.category", category=back), code=303)
    return redirect(url_for("customer.overview"), code=303)
