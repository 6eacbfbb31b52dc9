"""`python -m tandemctl`."""

from tandemctl.cli import main

main()
