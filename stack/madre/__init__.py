"""madre: the VX11 orchestrator (chat, power windows, feature flags, the SQLite database)."""
