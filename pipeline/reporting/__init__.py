"""What every job's report shares: text and JSON helpers, the HTML page frame, outputs, units."""
