"""Scenarios of the golden-output test (`tests/cli/test_golden.py`).

A scenario starts from one state and runs its command lines one after another on that same
temporary copy, so mutations carry over from step to step. Each command line is split with
`shlex` and run as `python -m tandemctl --state-dir <state root> <args...>`; global options go
before the command name.

States:
* `sample`: a copy of the repository's `examples/state`.
* `generated`: `benchmarks/generate.py` with the parameters in `GENERATED` (fixed seed, so the ids
  below are stable).

Placeholders in a command line:
* `{op:N}`: the operation id printed by step N of the same scenario (1-based), taken from its
  stdout, else its stderr.
"""

from dataclasses import dataclass
from typing import Literal

StateKind = Literal["sample", "generated"]

GENERATED = {"dead_letters": 120, "seed": 7, "tenants": 3}


@dataclass(frozen=True)
class Scenario:
    name: str
    state: StateKind
    steps: tuple[str, ...]


# --- ids of examples/state (data/runtime/stateful_reliability.json) -------------------------------
# tenant local/local
S_OPEN_LOCAL = "dead-letter-effect-d5345dd5895401de"  # open
S_RR_LOCAL = "dead-letter-effect-bdeb18dab3e9b3e4"  # retry_requested, run queued
S_RR_NO_RUN = "dead-letter-effect-312302d5313e20dd"  # retry_requested, run not found
S_RESOLVED = "dead-letter-effect-d14f85f28970b7c9"  # resolved
# other tenants
S_RETRYING_GLOBEX = "dead-letter-effect-16fa91864a647bf7"  # retrying, in backoff
S_RETRYING_EXHAUSTED = "dead-letter-effect-fcf01c1e14114e31"  # retrying, retry_dispatch_count 5
S_RETRYING_SUPERSEDED = "dead-letter-effect-f2359182d3b039b7"  # retrying, superseded by a success (acme)
S_OPEN_UNATTRIBUTED = "dead-letter-effect-7d0af6a683f445e7"  # open, unattributed tenant
S_WAIT = "dead-letter-wait-4a77160d95ae3e8c"  # open stateful_wait: never retryable
S_LINKED = "dead-letter-effect-f4da955586d524b4"  # linked_to_compensation
S_IGNORED_EXHAUSTED = "dead-letter-effect-680167b7766f2f77"  # ignored, retry_dispatch_count 5
S_IGNORED_ACME = "dead-letter-effect-a6cc191590fe185d"  # ignored
S_RUN_F38 = "automation-v2-run-f38b2ffc-80a4-4f5a-91c9-bc701e7ea419"  # three rows, three tenants
MISSING = "dead-letter-effect-0000000000000000"
UNKNOWN_OP = "op-20261127T000000-deadbeef"

# --- ids of the generated state (GENERATED parameters) --------------------------------------------
G_IGNORED_EXHAUSTED_LOCAL = "dead-letter-effect-e8e78e66b77ee26b"  # ignored, retry_dispatch_count 5
G_RETRYING_EXHAUSTED_LOCAL = "dead-letter-effect-defa2a2e783de523"  # retrying, retry_dispatch_count 5
G_OPEN_GLOBEX = "dead-letter-effect-8c4d2150b4cf7211"  # tenant globex/billing/eu-west-1
G_DANGLING = "dead-letter-effect-146c473ea4236cde"  # retry_requested, run_id names no run
G_WAIT = "dead-letter-wait-34193ef5935d28ea"  # open stateful_wait


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("global_options", "sample", (
        "--version",
        "--help",
        "dead-letters --help",
        "dead-letters list --help",
        "dead-letters retry --help",
        "history --help",
        "undo --help",
        "sweep --help",
        "audit verify --help",
        "",  # no command: usage error
        "-o xml dead-letters list",
        "--tenant bad dead-letters list",
        "-v dead-letters list",
        "-v --all-tenants -o json dead-letters list --limit 1",
        "-q dead-letters list",
        "-q --all-tenants -o csv dead-letters list --limit 2",
        "-q dead-letters list --reason-match '('",  # errors still show
    )),
    Scenario("list_sample", "sample", (
        "dead-letters list",
        "-o json dead-letters list",
        "-o jsonl dead-letters list",
        "-o csv dead-letters list",
        "--all-tenants dead-letters list",
        "--tenant acme/ops dead-letters list",
        "--tenant globex/billing/eu-west-1 -o csv dead-letters list",
        "--tenant nobody/nowhere -o json dead-letters list",
        "--all-tenants dead-letters list --status open",
        "--all-tenants dead-letters list --status open --status ignored",
        "--all-tenants dead-letters list --status Retry-Requested",
        "--all-tenants dead-letters list --status no_such_status",
        f"--all-tenants dead-letters list --run {S_RUN_F38}",
        "--all-tenants dead-letters list --source-type stateful-wait",
        "--all-tenants dead-letters list --active-only",
        "--all-tenants dead-letters list --since 3h",
        "--all-tenants dead-letters list --older-than 7d",
        "--all-tenants dead-letters list --since 30d --older-than 1d",
        r"--all-tenants dead-letters list --reason-match 'HTTP 5\d\d'",
        "--all-tenants -o csv dead-letters list --reason-match '(?i)TIMEOUT'",
        "--all-tenants dead-letters list --limit 3",
        "--all-tenants -o json dead-letters list --limit 3 --after-id dead-letter-effect-bdeb18dab3e9b3e4",
        f"--all-tenants dead-letters list --after-id {MISSING}",
        "--all-tenants dead-letters list --before-created-at-ms 1795000000000",
        "--all-tenants dead-letters list --limit 2 --after-id dead-letter-effect-cf7803c7045af8e7"
        " --before-created-at-ms 1795730400000",
        "--all-tenants dead-letters list --limit 0",
        # errors
        "dead-letters list --reason-match '('",
        "-o json dead-letters list --reason-match '[a-'",
        "--tenant acme/ops --all-tenants dead-letters list",
        "dead-letters list --limit -1",
        "dead-letters list --since yesterday",
        "dead-letters list --before-created-at-ms -5",
    )),
    Scenario("actions_by_id", "sample", (
        f"-o json dead-letters retry {S_OPEN_LOCAL} --reason 'provider is back'",
        f"dead-letters retry {S_OPEN_LOCAL}",  # already retry_requested: unchanged
        f"dead-letters retry {S_RESOLVED}",  # resolved without --force: refused, exit 6
        f"dead-letters retry {S_RESOLVED} --force --reason 'replay it anyway'",
        f"--all-tenants dead-letters retry {S_WAIT} --reason 'not retryable'",  # refused even with a reason
        f"-o json dead-letters retry {MISSING}",  # exit 3
        f"dead-letters retry {S_RETRYING_GLOBEX}",  # other tenant: not found
        f"--tenant globex/billing/eu-west-1 dead-letters retry {S_RETRYING_GLOBEX} --reason kick",  # retrying: 6
        f"--tenant globex/billing/eu-west-1 --actor alice dead-letters retry {S_IGNORED_EXHAUSTED}"
        " --reason 'fresh budget'",
        f"--all-tenants dead-letters retry {S_WAIT} {MISSING} --reason mixed",  # refused + not found: 3 wins
        f"--all-tenants dead-letters park {S_IGNORED_ACME} --reason 'still broken'",  # unchanged
        f"--all-tenants dead-letters retry {S_IGNORED_ACME} {MISSING} --reason 'one missing'",
        f"--all-tenants -o csv dead-letters park {S_LINKED} --reason 'compensation covers it'",
        f"--all-tenants dead-letters park {S_RR_LOCAL}",  # missing --reason: exit 2
        f"--all-tenants dead-letters resolve {S_OPEN_UNATTRIBUTED} --reason 'handled by hand'",
        f"--all-tenants dead-letters park {S_OPEN_UNATTRIBUTED} --reason 'park it'",  # resolved: refused
        f"--all-tenants -o jsonl dead-letters park {S_OPEN_UNATTRIBUTED} --reason 'park it' --force",
        f"--all-tenants dead-letters reopen {S_RETRYING_EXHAUSTED}",  # no reason needed for one id
        f"--all-tenants -o json dead-letters reopen {S_LINKED} --reason 'look again'",
        f"--all-tenants -o jsonl dead-letters resolve {S_WAIT} --reason 'answered the wait'",
        f"--all-tenants dead-letters retry {S_WAIT} {S_RETRYING_EXHAUSTED} --reason 'one of two'",  # exit 6
        f"dead-letters retry {S_RR_LOCAL} --status open --reason x",  # ids and selector: exit 2
        f"-o json dead-letters park {S_RR_LOCAL} --all --reason x",
        f"--all-tenants dead-letters retry {S_RETRYING_SUPERSEDED} --dry-run --force --reason preview",
        f"--all-tenants -o csv dead-letters resolve {S_RR_NO_RUN} {S_RESOLVED} --dry-run --reason preview",
        "--all-tenants dead-letters list",
        "history",  # only operations that touched this tenant's rows
        "--all-tenants history",
        "--all-tenants -o json history -n 2",
        f"--all-tenants history --id {S_OPEN_UNATTRIBUTED}",
        "-o csv history",
    )),
    Scenario("actions_bulk", "sample", (
        "--all-tenants dead-letters retry --status ignored --reason 'provider is back' --dry-run",
        "--all-tenants -o json dead-letters retry --status ignored --reason 'provider is back' --dry-run",
        "--all-tenants -o jsonl dead-letters retry --status ignored --reason 'provider is back' --dry-run",
        "--all-tenants -o csv dead-letters retry --status ignored --reason 'provider is back' --dry-run",
        "--all-tenants -o json dead-letters retry --status ignored --reason 'provider is back'",  # no --yes
        "--all-tenants dead-letters retry --status ignored --reason 'provider is back'",  # closed stdin
        "--all-tenants dead-letters retry --status ignored --yes",  # bulk without --reason
        "dead-letters retry --reason everything --yes",  # selector without a filter and without --all
        "--all-tenants dead-letters retry --status ignored --reason 'provider is back' --yes",
        "--all-tenants dead-letters list --status retry_requested",
        "dead-letters park --all --reason 'maintenance window' --yes",  # the resolved row is refused: 6
        "-o json dead-letters reopen --all --reason 'maintenance over' --yes",
        r"--all-tenants -o json dead-letters resolve --reason-match 'HTTP 5\d\d' --reason 'fixed upstream' --yes",
        "--all-tenants dead-letters retry --status retrying --reason kick --yes",  # all refused: 6
        "--all-tenants -o json dead-letters retry --status retrying --reason kick --yes --force",
        "--all-tenants dead-letters park --source-type stateful_wait --reason 'waits are manual' --yes",
        f"--all-tenants -o csv dead-letters park --run {S_RUN_F38} --reason 'bad run' --yes",
        "--all-tenants dead-letters reopen --older-than 5d --reason 'old ones' --yes",
        "--all-tenants dead-letters resolve --active-only --status retry_requested --reason done --yes",
        "--all-tenants -o jsonl dead-letters reopen --status resolved --reason recheck --yes",
        "dead-letters retry --run no-such-run --reason nothing --yes",  # nothing matched: exit 0
        "--all-tenants dead-letters list",
        "--all-tenants history",
    )),
    Scenario("undo", "sample", (
        f"-o json dead-letters retry {S_OPEN_LOCAL} --reason 'provider is back'",
        "--all-tenants -o json dead-letters park --status ignored --status open --reason batch --yes",
        "--all-tenants history",
        "undo {op:2} --dry-run",  # without --all-tenants the other tenants' rows are not found
        "--all-tenants undo {op:2} --dry-run",
        "--all-tenants -o json undo {op:2} --dry-run",
        "--all-tenants undo {op:2}",  # confirmation off a terminal: needs --yes
        "--all-tenants undo {op:2} --yes --reason 'too broad'",
        "--all-tenants dead-letters list",
        "--all-tenants undo {op:2} --yes",  # the rows moved on since op 2 (op 8 undid it)
        f"dead-letters park {S_OPEN_LOCAL} --reason 'changed my mind'",
        "undo {op:1} --yes",  # the row moved on since op 1: refused
        "undo {op:11} --yes",
        f"undo {UNKNOWN_OP}",
        f"-o json undo {UNKNOWN_OP} --yes",
        "undo",
        "--all-tenants history -n 0",
        f"-o json history --id {S_OPEN_LOCAL} -n 2",
    )),
    Scenario("sweep_sample", "sample", (
        "audit verify",  # no ledger yet
        "-o json audit verify",
        "sweep --once --dry-run",
        "-o json sweep --once --dry-run",
        "-o csv sweep --once --dry-run",
        "--tenant acme/ops sweep --once --dry-run",
        f"-o json dead-letters retry {S_OPEN_LOCAL} --reason 'provider is back'",
        f"--all-tenants dead-letters retry {S_IGNORED_ACME} --reason 'token renewed'",
        "history",
        "undo {op:7} --yes",
        "sweep --once --max 1",
        "--all-tenants dead-letters list",
        "sweep --once",
        "-o json sweep --once",
        "-q sweep --once --skip-if-engine-live",
        "sweep --once --max -1",
        "audit verify",
        "-o json audit verify",
    )),
    Scenario("generated_list", "generated", (
        "dead-letters list",
        "--all-tenants dead-letters list --limit 10",
        "--all-tenants -o json dead-letters list --limit 2",
        "--all-tenants -o csv dead-letters list --limit 0",
        "--tenant globex/billing/eu-west-1 dead-letters list --limit 5",
        "--tenant globex/billing dead-letters list",  # the deployment must match exactly: nothing
        "--tenant acme/ops dead-letters list --status open --status linked-to-compensation",
        "--all-tenants dead-letters list --status retrying --active-only",
        "--all-tenants dead-letters list --reason-match 'タイムアウト'",
        "--all-tenants -o json dead-letters list --limit 2 --before-created-at-ms 1795300000000",
    )),
    Scenario("generated_actions_sweep", "generated", (
        "audit verify",
        "-o json sweep --once --dry-run",
        "sweep --once --max 3",  # dispatches for real
        "-o json sweep --once",  # dispatches the rest
        "sweep --once",  # nothing ready any more
        "-o json audit verify",
        f"dead-letters retry {G_IGNORED_EXHAUSTED_LOCAL} --reason 'fresh budget'",
        f"-o json dead-letters retry {G_RETRYING_EXHAUSTED_LOCAL} --force --reason 'fresh budget'",
        f"--all-tenants dead-letters retry {G_DANGLING} {G_WAIT} --force --reason 'two odd ones'",
        f"--tenant globex/billing/eu-west-1 dead-letters park {G_OPEN_GLOBEX} --reason wontfix",
        f"dead-letters park {G_OPEN_GLOBEX} --reason wontfix",  # wrong tenant: not found
        "--all-tenants dead-letters park --reason-match invalid_auth --reason credentials --yes",
        "--all-tenants -o csv dead-letters retry --status open --source-type tool_effect --older-than 20d"
        " --reason 'old failures' --yes",
        "history",
        "undo {op:12} --yes --reason 'too broad'",  # without --all-tenants: only this tenant's rows
        "sweep --once",
        "audit verify",
        "--all-tenants history",
    )),
)
