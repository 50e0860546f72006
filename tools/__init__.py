"""Developer tools run by nox sessions (not part of the package)."""
