"""Tools for testing and measuring the app (not part of the app or of pgcore)."""
