"""Names that the CLI needs at import time; kept free of heavy imports so start-up stays fast."""

from enum import StrEnum
from typing import Final

ENV_STATE_DIR: Final = "TANDEM_STATE_DIR"
ENV_TENANT: Final = "TANDEMCTL_TENANT"
ENV_OUTPUT: Final = "TANDEMCTL_OUTPUT"
ENV_ACTOR: Final = "TANDEMCTL_ACTOR"
ENV_CONFIG: Final = "TANDEMCTL_CONFIG"
ENV_NOW_MS: Final = "TANDEMCTL_NOW_MS"
ENV_ENGINE_URL: Final = "TANDEM_ENGINE_URL"  # the engine-URL variables, named only here
ENV_ENGINE_HOST: Final = "TANDEM_ENGINE_HOST"
ENV_ENGINE_PORT: Final = "TANDEM_ENGINE_PORT"
ENV_MODE: Final = "TANDEMCTL_MODE"  # offline or live
DEFAULT_TENANT: Final = "local/local"
DEFAULT_LIMIT: Final = 250


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
