"""The HTTP layer and command-line tool of cehours: they call ``ledger`` services, nothing more."""
