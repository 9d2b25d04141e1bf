"""``python -m server`` is the same as the ``rapport`` command."""

from rapport.server.cli import main

if __name__ == "__main__":
    main()
