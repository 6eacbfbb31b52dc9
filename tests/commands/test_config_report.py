"""config.example.toml documents every setting of `FileSettings` with the default the code uses."""

import re
import tomllib
from pathlib import Path

from tandemctl.commands.config import FileSettings
from tandemctl.commands.config_report import SETTING_DEFAULTS

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def _documented() -> dict[str, tuple[str, str]]:
    """setting -> (documented default, example line), from the `# Default:` / `# name = ` pairs."""
    lines = EXAMPLE.read_text().splitlines()
    found: dict[str, tuple[str, str]] = {}
    for index, line in enumerate(lines):
        match = re.match(r"# ([a-z_]+) = (.+)$", line)
        if match:
            default = re.match(r"# Default: (.+)$", lines[index - 1])
            assert default, f"{match.group(1)}: no '# Default:' line above its example"
            assert match.group(1) not in found, f"{match.group(1)} documented twice"
            found[match.group(1)] = (default.group(1), f"{match.group(1)} = {match.group(2)}")
    return found


def test_every_setting_is_documented_with_its_default() -> None:
    documented = _documented()
    assert set(documented) == set(FileSettings.model_fields) == set(SETTING_DEFAULTS)
    for name, (default, _) in documented.items():
        assert default == SETTING_DEFAULTS[name], name


def test_the_examples_are_valid_settings() -> None:
    text = "\n".join(example for _, example in _documented().values())
    FileSettings.model_validate(tomllib.loads(text))
