"""The coordinator's console: every coordinator action on a web page, behind sign-in (sessions kept server-side)."""
