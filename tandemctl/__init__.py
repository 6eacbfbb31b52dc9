"""tandemctl: the operator's command-line tool for the dead letters of Tandem (tandem-server)."""

__version__ = "0.1.0"
