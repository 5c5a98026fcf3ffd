"""Public pages: home, privacy statement in both languages, errors, headers and cookies."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from portal.i18n import LANGUAGE_COOKIE


def test_home_explains_the_portal_in_dutch_by_default(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="nl">' in html
    assert "Uw gegevens bij Voorbeeld IT Diensten B.V." in html
    assert 'href="#content"' in html  # skip link


def test_home_names_the_systems_of_the_firm_s_own_policy(
    client: FlaskClient,
    make_app: Callable[..., Flask],
    base_settings: dict[str, object],
    instance_dir: Path,
) -> None:
    """The home page says where the data comes from with the sources the firm's policy names,
    not a web shop, invoicing, helpdesk and payments every firm is assumed to have."""
    from portal import PROJECT_ROOT

    client.set_cookie(LANGUAGE_COOKIE, "en")
    html = client.get("/").get_data(as_text=True)
    assert (
        "We collect it live from our systems, Web shop, Bookkeeping (Moneybird), Incident desk"
        " (Zammad), Customer service (Freshdesk), Payments (Mollie), and Workshop (our own"
        " records), and group it by kind of data." in html
    )

    files_only = PROJECT_ROOT / "instance" / "examples" / "compjoeter.toml"
    other = make_app({**base_settings, "policy_file": str(files_only)}, instance_dir)
    visitor = other.test_client()
    visitor.set_cookie(LANGUAGE_COOKIE, "en")
    html = visitor.get("/").get_data(as_text=True)
    assert "from our systems, Recovery jobs and Customers and contact persons, and" in html
    assert "web shop" not in html.lower() and "helpdesk" not in html.lower()
    assert "payment" not in html.lower()


def test_privacy_statement_renders_the_policy(client: FlaskClient) -> None:
    html = client.get("/privacy").get_data(as_text=True)
    # controller, categories, purposes with legal basis, retention, recipients, rights
    assert "Voorbeeld IT Diensten B.V." in html
    assert "12345678" in html
    assert "Facturen en belastingadministratie" in html
    assert "AVG art. 6 lid 1 sub c" in html  # as Dutch law is cited
    assert "Geldig vanaf 01-01-2026." in html  # a date as people write it, not 2026-01-01
    # art. 13(2)(e): whether the customer must give the data (said for names and orders)
    assert html.count("daarzonder kunnen wij onze dienst niet leveren") == 2
    assert "https://voorbeeld-it.example.nl" in html
    assert "7 jaar na het einde van het boekjaar" in html
    assert "Freshworks Inc." in html
    assert "Verenigde Staten" in html
    assert "standaardcontractbepalingen" in html
    assert "Autoriteit Persoonsgegevens" in html
    assert html.count("<table>") == 4
    # Besides the portal, the ways the statement accepts requests, with where to send them.
    assert "U kunt uw verzoek ook aan ons sturen:" in html
    assert 'per e-mail: <a href="mailto:privacy@voorbeeld-it.example.nl">' in html
    assert "per post: Voorbeeld IT Diensten B.V., Oudegracht 1" in html


def test_language_switch_works_without_javascript_and_is_remembered(client: FlaskClient) -> None:
    response = client.get("/taal/en?next=/privacy")
    assert response.status_code == 303
    assert response.headers["Location"] == "/privacy"
    set_cookie = response.headers["Set-Cookie"]
    assert f"{LANGUAGE_COOKIE}=en" in set_cookie
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    html = client.get("/privacy").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Privacy statement of Voorbeeld IT Diensten B.V." in html
    assert "7 years after the end of the fiscal year it belongs to" in html
    assert "GDPR art. 6(1)(c)" in html
    assert "United States" in html
    # and back to Dutch
    client.get("/taal/nl")
    assert '<html lang="nl">' in client.get("/").get_data(as_text=True)


def test_privacy_statement_names_each_recipient_in_the_visitor_s_language(
    client: FlaskClient,
) -> None:
    """The example policy names the tax authority in both languages and its processors by a
    plain proper name, which reads the same in both."""
    dutch = client.get("/privacy").get_data(as_text=True)
    assert '<th scope="row">Belastingdienst</th>' in dutch
    assert "Dutch Tax Administration" not in dutch
    assert '<th scope="row">Moneybird B.V.</th>' in dutch
    client.get("/taal/en?next=/privacy")
    english = client.get("/privacy").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert '<th scope="row">Belastingdienst (Dutch Tax Administration)</th>' in english
    assert '<th scope="row">Moneybird B.V.</th>' in english


def test_language_switch_never_redirects_to_another_host(client: FlaskClient) -> None:
    for target in (
        "//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil.example/",
        "/\t/evil.example/",
    ):  # fmt: skip
        response = client.get("/taal/en", query_string={"next": target})
        assert response.headers["Location"] == "/"


def test_language_switch_links_to_the_other_language(client: FlaskClient) -> None:
    html = client.get("/privacy").get_data(as_text=True)
    assert re.search(r'<a href="/taal/en\?next=/privacy" lang="en" hreflang="en">English</a>', html)


def test_not_found_page_in_both_languages(client: FlaskClient) -> None:
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.get_data(as_text=True)
    client.get("/taal/en")
    assert "Page not found" in client.get("/bestaat-niet").get_data(as_text=True)


def test_server_error_page_leaks_nothing(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals /srv/portal/db.py sanne.devries@example.nl")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Er ging bij ons iets mis" in html
    for leak in ("secret internals", "Traceback", "db.py", "sanne.devries"):
        assert leak not in html


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Content-Type-Options",
)


def test_strict_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/privacy", "/static/portal.css", "/bestaat-niet", "/taal/en"):
        response = client.get(path)
        for header in SECURITY_HEADERS:
            assert header in response.headers, (path, header)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        response.close()


def test_pages_load_nothing_from_another_host(client: FlaskClient) -> None:
    for path in ("/", "/privacy", "/bestaat-niet"):
        html = client.get(path).get_data(as_text=True)
        # src/href attributes may only point at this host (mailto and the authority's
        # site as a plain link are navigation, not loading)
        for attr, url in re.findall(r'(src|href)="([^"]+)"', html):
            if attr == "src" or url.endswith((".css", ".js", ".woff", ".woff2")):
                assert url.startswith("/"), (path, url)
        assert "<script" not in html
        assert "<style" not in html and 'style="' not in html


def test_session_cookie_is_secure_httponly_samesite(app: Flask) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True

    @app.get("/touch-session")
    def touch() -> str:
        from flask import session

        session["x"] = 1
        return "ok"

    response = app.test_client().get("/touch-session", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "portal_session=" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_csrf_token_are_refused(app: Flask) -> None:
    @app.post("/form")
    def form() -> str:
        return "accepted"

    response = app.test_client().post("/form", data={"x": "1"})
    assert response.status_code == 400
    assert "accepted" not in response.get_data(as_text=True)


def test_privacy_statement_regions_have_names_of_their_own(client: FlaskClient) -> None:
    """Each section and each scrolling table in it is a landmark: a screen reader lists them by
    name, so a table's region is named by its caption, not by its section's heading again."""
    html = client.get("/privacy").get_data(as_text=True)
    texts = {
        match["id"]: re.sub(r"<[^>]+>", "", match["text"]).strip()
        for match in re.finditer(
            r'<(?:h2|caption)[^>]* id="(?P<id>[^"]+)"[^>]*>(?P<text>.*?)</', html
        )
    }
    regions = re.findall(r'<(?:section|div)[^>]* aria-labelledby="([^"]+)"', html)
    names = [texts[label] for label in regions]
    assert len(regions) >= 8  # four sections, each with its table
    assert len(names) == len(set(names)), names
    assert "Soorten persoonsgegevens" in names  # the caption of the categories table


def test_privacy_statement_says_when_we_answer_once(
    client: FlaskClient,
    make_app: Callable[..., Flask],
    base_settings: dict[str, object],
    instance_dir: Path,
    tmp_path: Path,
) -> None:
    """The firm's own words on when it answers are not followed by the law's saying the same
    again; without them the law's are given. The extension by two months is named either way."""
    client.set_cookie(LANGUAGE_COOKIE, "en")
    html = client.get("/privacy").get_data(as_text=True)
    assert "<p>We answer within one month. For complex requests we may extend this" in html
    assert "By law we answer within one month" not in html

    policy = (instance_dir / "policy.toml").read_text(encoding="utf-8")
    assert "\nresponse_time = " in policy
    without = "\n".join(
        line for line in policy.splitlines() if not line.startswith("response_time = ")
    )
    (tmp_path / "policy.toml").write_text(without, encoding="utf-8")
    other = make_app({**base_settings, "policy_file": str(tmp_path / "policy.toml")}, instance_dir)
    visitor = other.test_client()
    visitor.set_cookie(LANGUAGE_COOKIE, "en")
    html = visitor.get("/privacy").get_data(as_text=True)
    assert "<p>By law we answer within one month; for complex requests we may extend" in html
    assert "We answer within one month." not in html


def _portal_keeps(html: str) -> str:
    section = html[html.index('<section aria-labelledby="portal">') :]
    return section[: section.index("</section>")]


def test_privacy_statement_says_what_the_portal_itself_keeps_and_how_long(
    client: FlaskClient,
) -> None:
    """Art. 13 for the portal's own processing: the periods the nightly purge applies (the
    example policy's ``[portal_retention]``) and the settings, in the visitor's language."""
    dutch = client.get("/privacy").get_data(as_text=True)
    assert '<a href="#portal">Wat dit portaal over u bewaart</a>' in dutch
    keeps = _portal_keeps(dutch)
    assert "hoogstens 30 minuten" in keeps and "wanneer u uitlogt" in keeps
    assert "15 minuten" in keeps and "7 dagen" in keeps  # codes; then their record
    assert "30 minuten zonder activiteit" in keeps and "12 uur" in keeps
    assert "18 maanden niet heeft ingelogd" in keeps
    assert "nooit het bestand zelf. Bewaard gedurende 12 maanden." in keeps
    assert "tot 1 jaar na het afsluiten" in keeps and "gedurende 5 jaar" in keeps
    client.get("/taal/en?next=/privacy")
    keeps = _portal_keeps(client.get("/privacy").get_data(as_text=True))
    assert "What this portal keeps about you" in keeps
    assert "for at most 30 minutes" in keeps and "deletes it when you sign out" in keeps
    assert "not signed in for 18 months" in keeps
    assert "until 1 year after the request was closed" in keeps and "for 5 years" in keeps


def test_what_the_portal_keeps_follows_the_settings(
    make_app: Callable[..., Flask], base_settings: dict[str, object], instance_dir: Path
) -> None:
    other = make_app(
        {**base_settings, "gathered_ttl_minutes": 10, "login_code_minutes": 5}, instance_dir
    )
    keeps = _portal_keeps(other.test_client().get("/privacy").get_data(as_text=True))
    assert "hoogstens 10 minuten" in keeps and "30 minuten, zodat" not in keeps
    assert "Ze werken één keer, 5 minuten lang." in keeps
