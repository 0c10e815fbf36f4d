"""How work runs: execution settings, schedulers, clusters, progress, interrupts, memory."""
