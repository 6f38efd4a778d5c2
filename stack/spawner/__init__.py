"""spawner: starts/stops services on madre's behalf (health only in the reference stack)."""
