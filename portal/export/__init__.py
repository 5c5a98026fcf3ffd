"""One-click export of the customer's data: JSON (with a JSON Schema) and a ZIP of CSV files
with a README and a readable index.html (GDPR art. 15(3) copy, art. 20 portability).

Endpoints: ``export.index`` (the page with the buttons and "your exports"),
``export.download_json`` and ``export.download_csv`` (POST, CSRF; GET shows the page), and
``export.schema`` (the public JSON Schema). :func:`recent_exports` lists a customer's exports.
"""

from .services import recent_exports
from .views import bp

__all__ = ["bp", "recent_exports"]
