"""Log formats as data: the preset table and the compiler of format strings."""
