"""Log formats as data: the preset table, the format-string compiler, detection."""
