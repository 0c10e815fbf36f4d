"""What ``--path`` means: files, blocks and line-aligned streams."""
