"""Console entry point. `tandemctl --version` answers before anything heavy is imported:
cron and shell prompts call it, and the interpreter alone already costs ~100 ms."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from tandemctl import __version__

        sys.stdout.write(f"tandemctl {__version__}\n")
        return
    from tandemctl.cli.app import main as cli_main

    cli_main()
