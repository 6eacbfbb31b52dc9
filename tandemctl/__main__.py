"""`python -m tandemctl`."""

from tandemctl.entry import main

main()
