"""``python cli.py ...``: the command line of :mod:`pipeline.cli`, runnable from a checkout."""

from pipeline.cli import main

if __name__ == "__main__":
    main("cli.py")
