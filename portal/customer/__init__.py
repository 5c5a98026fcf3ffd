"""The customer's own view of their data: what the firm holds, grouped by the policy's
categories, with why, how long, who else receives it and where it came from."""

from .views import bp

__all__ = ["bp"]
