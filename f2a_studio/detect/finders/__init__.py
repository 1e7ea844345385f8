"""Face finders as plug-ins (see base.py); the registry lives here."""
