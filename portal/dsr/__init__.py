"""Data subject requests (GDPR art. 15-22): deadlines, and later submitting and tracking."""
