"""``python -m igtoken``: the same command line as ``igtoken``."""

from igtoken.cli import main

if __name__ == "__main__":
    main(prog_name="igtoken")
