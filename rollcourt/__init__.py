"""rollcourt: the command line, its configuration and the devnet orchestrator (DESIGN §1, §6)."""
