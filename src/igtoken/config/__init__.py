"""Settings from ``IGTOKEN_*`` variables and ``.env`` files, default paths, optional-extra checks."""
