"""Views of the export: the page with the download buttons, the two downloads, the schema.

Downloads are POST with a CSRF token (a form button): a link could be prefetched or followed
by a crawler, which would gather from every source and log an export nobody asked for. A GET
on a download URL shows the page with the buttons instead. Every download requires a signed-in
customer, contains only that customer's snapshot and is never cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import orjson
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..extensions import db, limiter
from ..gathering import current_or_gather
from ..kept_input import BUTTON, keeps_input
from ..models.base import utcnow
from ..policy import current_policy
from . import offline, services
from .forms import DownloadForm
from .schema import FORMAT_VERSION, FORMAT_VERSIONS, json_schema
from .writers import json_chunks, zip_chunks

bp = Blueprint("export", __name__, url_prefix="/export")


@bp.app_template_global()
def export_format_version() -> int:
    """The format version the downloads are written in (the schema link beside the buttons)."""
    return FORMAT_VERSION


#: Each download may gather from every source; nobody needs more than this.
DOWNLOAD_LIMIT = "10 per minute"
#: How long browsers and proxies may keep the (public, unchanging) schema.
SCHEMA_MAX_AGE = 24 * 60 * 60


#: How a source answered for an export, in the customer's words.
SOURCE_STATES = {
    "complete": _l("complete"),
    "partial": _l("in part"),
    "failed": _l("did not answer"),
    "skipped": _l("not asked"),
}


@bp.get("/")
@login_required
def index() -> Response:
    """The export page: what you get, the two buttons, and your earlier exports."""
    locale = str(get_locale() or "nl")
    html = render_template(
        "export/index.html",
        form=DownloadForm(),
        exports=services.recent_exports(current_user),
        source_names={s.key: s.name.get(locale) for s in current_policy().sources},
        source_states=SOURCE_STATES,
    )
    return Response(html)


def _download(fmt: str) -> Response:
    if not DownloadForm().validate_on_submit():
        abort(400)
    policy = current_policy()
    locale = str(get_locale() or "nl")
    snapshot = current_or_gather(current_user)
    now = utcnow()
    services.record_export(current_user, snapshot, fmt, now)
    document = services.document_for(
        current_user,
        snapshot,
        policy,
        locale=locale,
        schema_url=_schema_url(FORMAT_VERSION),
        now=now,
    )
    db.session.commit()  # the receipt and a live gathering are kept before the file streams
    if fmt == "json":
        chunks: Iterable[bytes] = json_chunks(document)
        mimetype = "application/json"
    else:
        timezone = current_app.extensions["portal.settings"].timezone
        chunks = zip_chunks(
            document,
            readme=lambda kinds: offline.readme(document, kinds),
            index_html=lambda: offline.index_html(document),
            timezone=timezone,
        )
        mimetype = "application/zip"
    name = services.filename(policy, now, "json" if fmt == "json" else "zip", locale)
    response = Response(stream_with_context(_iterate(chunks)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _iterate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    yield from chunks


def _export_again() -> Response:
    """A download button whose page had expired: back to the export page, to press again."""
    return redirect(url_for("export.index"), code=303)  # type: ignore[return-value]


@bp.route("/json", methods=["GET", "POST"])
@keeps_input(_export_again, message=BUTTON)
@login_required
@limiter.limit(DOWNLOAD_LIMIT, methods=["POST"])
def download_json() -> Response:
    """Download everything as one JSON file (POST); GET shows the export page."""
    if request.method == "GET":
        return redirect(url_for("export.index"), code=303)  # type: ignore[return-value]
    return _download("json")


@bp.route("/csv", methods=["GET", "POST"])
@keeps_input(_export_again, message=BUTTON)
@login_required
@limiter.limit(DOWNLOAD_LIMIT, methods=["POST"])
def download_csv() -> Response:
    """Download everything as a ZIP of CSV files with index.html (POST); GET shows the page."""
    if request.method == "GET":
        return redirect(url_for("export.index"), code=303)  # type: ignore[return-value]
    return _download("csv")


def _schema_url(version: int) -> str:
    """The schema's address on the portal's public address (``base_url``), not on whatever
    ``Host`` a request came with: caches keep the schema for a day, and downloads name it."""
    settings = current_app.extensions["portal.settings"]
    return str(settings.public_url(url_for("export.schema", version=version)))


@bp.get("/schema/v<int:version>.json")
def schema(version: int) -> Response:
    """The JSON Schema of an export format version: public, the same for everyone, cacheable."""
    if version not in FORMAT_VERSIONS:
        abort(404)
    url = _schema_url(version)
    body = orjson.dumps(json_schema(url, version), option=orjson.OPT_INDENT_2)
    response = Response(body, mimetype="application/schema+json")
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.headers["Cache-Control"] = f"public, max-age={SCHEMA_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)
