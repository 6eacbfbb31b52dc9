"""Writes the hand-picked sample state shipped in examples/state/ (a Tandem 0.6.6 data dir).

    python examples/make_sample.py [OUT_DIR]      # default: examples/state

Every case is chosen by hand so the sample reads well; the writers are the generator's, so the
bytes follow the server's layout. At NOW a retry sweep dispatches two dead letters (one local,
one whose run lives only in a history shard), resolves one, parks one, and skips the rest.
"""

import random
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._catalog import (
    LOCAL_TENANT,
    OPERATIONS,
    UNATTRIBUTED_SCOPE,
    Operation,
    Tenant,
    tenant_context,
)
from benchmarks._compensation import WaitPlan
from benchmarks._definitions import Automation, Node, build_definition
from benchmarks._format import DAY_MS, DISPATCHER_ACTOR, HOUR_MS, MINUTE_MS, rng_uuid
from benchmarks._records import (
    ActionPlan,
    CompensationPlan,
    DeadLetterPlan,
    Disposition,
    RetryStamp,
    Success,
)
from benchmarks._runs import Requeue, RunPlan
from benchmarks._writer import write_state

NOW = 1_795_737_600_000  # 2026-11-27T00:00:00Z
OPS = {op.name: op for op in OPERATIONS}
UPLOAD = Operation("slack.upload_file", "slack", "SlackUploadFile", "slack.files.upload",
                   "slack.com", ("#ops-alerts",))
LOCAL = Tenant(dict(LOCAL_TENANT), ("operator",))
ACME = Tenant(tenant_context("acme", "ops", None, "alice@acme.example"), ("alice@acme.example",))
GLOBEX = Tenant(tenant_context("globex", "billing", "eu-west-1", "bob@globex.example"),
                ("bob@globex.example",))
CRON = {"type": "cron", "cron_expression": "0 6 * * *", "timezone": "UTC",
        "misfire_policy": {"type": "run_once"}}


def automations() -> tuple[Automation, Automation, Automation]:
    digest = build_definition(
        automation_id="nightly-digest", name="Nightly ops digest", tenant=LOCAL,
        description="Summarise yesterday's metrics and share them with on-call.", nodes=[
            Node("collect_metrics", "agent-researcher", "Collect yesterday's service metrics"),
            Node("draft_digest", "agent-writer", "Draft the digest", ("collect_metrics",)),
            Node("post_to_slack", "agent-operator", "Post the digest to #ops-alerts",
                 ("draft_digest",)),
            Node("email_digest", "agent-operator", "Email the digest to on-call",
                 ("draft_digest",)),
            Node("archive_report", "agent-operator", "Archive the report",
                 ("email_digest", "post_to_slack"))],
        created_at_ms=NOW - 90 * DAY_MS, updated_at_ms=NOW - 60 * DAY_MS, creator_id="operator",
        schedule=CRON)
    crm = build_definition(
        automation_id="crm-sync", name="CRM lead sync", tenant=ACME,
        description="Enrich new leads and write them to the CRM.", nodes=[
            Node("fetch_leads", "agent-researcher", "Fetch new leads", (), "gather"),
            Node("enrich_leads", "agent-researcher", "Enrich the leads", ("fetch_leads",),
                 "gather"),
            Node("update_crm", "agent-operator", "Update the CRM contacts", ("enrich_leads",),
                 "apply"),
            Node("notify_owner", "agent-writer", "Tell the account owner in Slack",
                 ("update_crm",), "apply")],
        phases=[("gather", "barrier"), ("apply", "soft")], created_at_ms=NOW - 80 * DAY_MS,
        updated_at_ms=NOW - 45 * DAY_MS, creator_id="alice@acme.example",
        max_parallel_agents=2, definition_version="v3")
    invoices = build_definition(
        automation_id="invoice-reminders", name="Invoice reminders", tenant=GLOBEX,
        description="Remind customers about overdue invoices; refund duplicates.", nodes=[
            Node("load_invoices", "agent-researcher", "Load overdue invoices"),
            Node("issue_refund", "agent-operator", "Refund duplicate charges", ("load_invoices",)),
            Node("draft_reminders", "agent-writer", "Draft reminder emails", ("load_invoices",)),
            Node("approve_batch", "agent-reviewer", "Finance approves the batch",
                 ("draft_reminders",)),
            Node("send_reminders", "agent-operator", "Send the reminders", ("approve_batch",)),
            Node("log_outcome", "agent-operator", "Log what was sent", ("send_reminders",))],
        created_at_ms=NOW - 100 * DAY_MS, updated_at_ms=NOW - 50 * DAY_MS,
        creator_id="bob@globex.example")
    acme_scope = {"schema_version": 1, "tenant_context": ACME.context,
                  "owning_org_unit_id": "sales-ops",
                  "owner_principal": {"kind": "automation", "id": "crm-sync"},
                  "data_classes": ["customer_data"], "risk_tier": "customer_data_access"}
    globex_scope = {"schema_version": 1, "tenant_context": GLOBEX.context,
                    "owning_org_unit_id": "finance", "data_classes": ["financial_record"],
                    "risk_tier": "financial_record_access",
                    "policy_version_id": "policy-globex-2026-10",
                    "delegation_grant_ids": ["grant-invoice-reminders"]}
    return (Automation("nightly-digest", LOCAL, {"schema_version": 1, "tenant_context": LOCAL.context},
                       (digest,)),
            Automation("crm-sync", ACME, acme_scope, (crm,)),
            Automation("invoice-reminders", GLOBEX, globex_scope, (invoices,)))


class Sample:
    def __init__(self) -> None:
        self.rng = random.Random(2026)
        self.runs: list[RunPlan] = []
        self.actions: list[ActionPlan] = []
        self.waits: list[WaitPlan] = []

    def run(self, automation: Automation, node: str, status: str, updated: int,
            age: int = 20 * MINUTE_MS) -> RunPlan:
        created = updated - age
        plan = RunPlan(
            run_id=f"automation-v2-run-{rng_uuid(self.rng)}", automation=automation,
            definition=automation.live, status=status, trigger_type="manual",
            created_at_ms=created, started_at_ms=created + 1200, updated_at_ms=updated,
            session_id=rng_uuid(self.rng), claim_id=f"run-claim-{rng_uuid(self.rng)}",
            fail_index=automation.live.node_ids.index(node), prompt_tokens=12_400,
            completion_tokens=3_100)
        self.runs.append(plan)
        return plan

    def action(self, run: RunPlan, op: Operation, at: int, error: str | None,
               dead_letter: DeadLetterPlan | None = None, node: str | None = None,
               **extra: object) -> ActionPlan:
        node_id = node or run.stop_node
        plan = ActionPlan(
            key=f"{run.run_id}/{node_id}/{op.name}", action_id=f"ext-action-{rng_uuid(self.rng)}",
            run_id=run.run_id, scope=run.automation.scope, node_id=node_id, operation=op,
            target=op.targets[0], attempt=run.node_attempts, created_at_ms=at - 850,
            updated_at_ms=at, failed=dead_letter is not None, error=error,
            dead_letter=dead_letter, **extra)  # type: ignore[arg-type]
        if error is not None:
            run.failure_reason = error
        self.actions.append(plan)
        return plan


def build(sample: Sample) -> tuple[Automation, ...]:
    digest, crm, invoices = autos = automations()
    s, ops = sample, OPS

    # Local run blocked on Slack: one dead letter asked for a retry, one only reviewed.
    r1 = s.run(digest, "post_to_slack", "failed", NOW - 2 * HOUR_MS)
    s.action(r1, ops["slack.post_message"], NOW - 2 * HOUR_MS - 40, "provider timeout",
             DeadLetterPlan("retry_requested", NOW - 30 * MINUTE_MS, Disposition(
                 "retry_requested", "Slack is back", "operator", NOW - 30 * MINUTE_MS)),
             compensation=CompensationPlan("rollback_message", "delete the partial Slack thread",
                                           None))
    s.action(r1, UPLOAD, NOW - 2 * HOUR_MS - 20, "HTTP 413 from slack.com: file too large",
             DeadLetterPlan("open", NOW - 20 * MINUTE_MS, Disposition(
                 "reviewed", "waiting for a smaller export", "operator", NOW - 20 * MINUTE_MS)))
    # The bridge could not resolve this action's run: its scope is "unattributed".
    s.action(r1, ops["webhook.post"], NOW - 2 * HOUR_MS - 10, None, DeadLetterPlan(
        "open", NOW - 2 * HOUR_MS - 10), node="archive_report").scope = UNATTRIBUTED_SCOPE

    # acme: a blocked run archived 10 days ago (shard only), retry requested today.
    r2 = s.run(crm, "update_crm", "blocked", NOW - 10 * DAY_MS)
    s.action(r2, ops["crm.update_contact"], NOW - 10 * DAY_MS - 30,
             "HTTP 429 from api.crm.example: rate limited", DeadLetterPlan(
                 "retry_requested", NOW - HOUR_MS, Disposition(
                     "retry_requested", "rate-limit window reset", "alice@acme.example",
                     NOW - HOUR_MS)))

    # globex: retried 1.5 s before NOW and failed again, so it sits in its 4 s backoff.
    r3 = s.run(invoices, "send_reminders", "failed", NOW - 600, age=3 * HOUR_MS)
    retry = NOW - 1500
    c = s.action(r3, ops["email.send"], NOW - 2 * HOUR_MS, "HTTP 503 from api.mailer.example",
                 DeadLetterPlan("retrying", retry, Disposition(
                     "retry_requested", "mailer status page is green", "bob@globex.example",
                     NOW - 90 * MINUTE_MS), RetryStamp(2, retry)))
    r3.requeue, r3.claimed_at_ms = Requeue(c.dead_letter_id, c.effect_id, 1, retry), retry + 100

    # globex: five dispatches already; the next sweep parks it as retry_exhausted.
    r4 = s.run(invoices, "send_reminders", "failed", NOW - 2 * DAY_MS + 20_000, age=DAY_MS)
    fifth = NOW - 2 * DAY_MS
    d = s.action(r4, ops["email.send"], NOW - 3 * DAY_MS, "HTTP 502 from api.mailer.example",
                 DeadLetterPlan("retrying", fifth, Disposition(
                     "retry_requested", None, "bob@globex.example", NOW - 3 * DAY_MS + HOUR_MS),
                     RetryStamp(5, fifth)),
                 compensation=CompensationPlan("operator_review", "review the partial side effect",
                                               "re-send once the provider is healthy",
                                               "awaiting_approval", NOW - 3 * DAY_MS + HOUR_MS))
    r4.requeue, r4.claimed_at_ms = Requeue(d.dead_letter_id, d.effect_id, 1, fifth), fifth + 300

    # acme: the retry succeeded (complete superseded marker); the next sweep resolves it.
    r5 = s.run(crm, "notify_owner", "completed", NOW - 44 * MINUTE_MS, age=3 * HOUR_MS)
    s.action(r5, ops["crm.update_contact"], NOW - 3 * HOUR_MS + 20_000, None, node="update_crm")
    dispatched = NOW - 50 * MINUTE_MS
    e = s.action(r5, ops["slack.post_message"], NOW - 2 * HOUR_MS,
                 "rate limited (429) by slack.com", DeadLetterPlan("retrying", dispatched, Disposition(
                     "retry_requested", None, "alice@acme.example", dispatched - 900),
                     RetryStamp(1, dispatched)),
                 success=Success(f"ext-action-{rng_uuid(s.rng)}", NOW - 46 * MINUTE_MS,
                                 NOW - 45 * MINUTE_MS))
    r5.requeue, r5.claimed_at_ms = Requeue(e.dead_letter_id, e.effect_id, 1, dispatched), dispatched + 400

    # globex: an approval wait timed out and was escalated; the run is paused on it.
    r6 = s.run(invoices, "approve_batch", "paused", NOW - 5 * HOUR_MS, age=DAY_MS)
    wait = WaitPlan(r6.run_id, "wait-approve-batch-7f3a", r6.automation.scope, "escalate",
                    "approval", "approval from finance not received", NOW - 5 * HOUR_MS - 400, 42,
                    310, DeadLetterPlan("open", NOW - 5 * HOUR_MS - 400))
    r6.pause_reason = wait.reason
    s.waits.append(wait)

    # acme: ignored by an operator (old run, shard only); the compensation was abandoned.
    r7 = s.run(crm, "update_crm", "failed", NOW - 12 * DAY_MS)
    s.action(r7, ops["crm.update_contact"], NOW - 12 * DAY_MS - 50, "invalid_auth: token expired",
             DeadLetterPlan("ignored", NOW - 11 * DAY_MS, Disposition(
                 "ignored", "duplicate contact — merged by hand", "alice@acme.example",
                 NOW - 11 * DAY_MS)),
             compensation=CompensationPlan("delete_record", "delete the half-written CRM record",
                                           None, "cancelled", NOW - 11 * DAY_MS))

    # globex: compensated — the engine completed the refund compensation with a receipt.
    r8 = s.run(invoices, "issue_refund", "failed", NOW - 4 * DAY_MS)
    linked = Disposition("linked_to_compensation", "refund already issued manually",
                         "bob@globex.example", NOW - 3 * DAY_MS)
    s.action(r8, ops["payments.refund"], NOW - 4 * DAY_MS - 30, "délai d'attente dépassé "
             "(api.payments.example)", DeadLetterPlan("linked_to_compensation", linked.at_ms, linked),
             compensation=CompensationPlan("refund", "refund the duplicate charge",
                                           "issue a corrected invoice", "completed",
                                           linked.at_ms + 3, Disposition(
                                               "executed", linked.reason, linked.actor_id,
                                               linked.at_ms + 1)))

    # local: resolved by the dispatcher after its retry succeeded yesterday.
    r9 = s.run(digest, "email_digest", "completed", NOW - 25 * HOUR_MS, age=2 * HOUR_MS)
    s.action(r9, ops["slack.post_message"], NOW - 26 * HOUR_MS - 40 * MINUTE_MS, None,
             node="post_to_slack")
    sent = NOW - 26 * HOUR_MS
    j = s.action(r9, ops["email.send"], NOW - 26 * HOUR_MS - 30 * MINUTE_MS, "provider timeout",
                 DeadLetterPlan("resolved", NOW - 25 * HOUR_MS - 5000, Disposition(
                     "retry_succeeded", "dead letter superseded by a successful effect replay",
                     DISPATCHER_ACTOR, NOW - 25 * HOUR_MS - 5000), RetryStamp(1, sent)),
                 success=Success(f"ext-action-{rng_uuid(s.rng)}", sent + 5000, sent + 9000))
    r9.requeue, r9.claimed_at_ms = Requeue(j.dead_letter_id, j.effect_id, 1, sent), sent + 700

    # acme: retry requested, but an operator resumed the run meanwhile (running: not recoverable).
    r10 = s.run(crm, "update_crm", "running", NOW - 10 * MINUTE_MS, age=2 * HOUR_MS)
    r10.claimed_at_ms = NOW - 10 * MINUTE_MS
    s.action(r10, ops["crm.update_contact"], NOW - 100 * MINUTE_MS,
             "connection reset by peer while calling api.crm.example", DeadLetterPlan(
                 "retry_requested", NOW - 30 * MINUTE_MS, Disposition(
                     "retry_requested", None, "alice@acme.example", NOW - 30 * MINUTE_MS)))

    # local: its run was purged, so the run id names nothing (dangling).
    ghost = RunPlan(run_id=f"automation-v2-run-{rng_uuid(s.rng)}", automation=digest,
                    definition=digest.live, status="failed", trigger_type="manual",
                    created_at_ms=NOW - 40 * DAY_MS, started_at_ms=None,
                    updated_at_ms=NOW - 40 * DAY_MS, session_id="", claim_id="", fail_index=4)
    s.action(ghost, ops["webhook.post"], NOW - 40 * DAY_MS, "HTTP 500 from hooks.partner.example",
             DeadLetterPlan("retry_requested", NOW - 3 * HOUR_MS, Disposition(
                 "retry_requested", "partner fixed their endpoint", "operator",
                 NOW - 3 * HOUR_MS)))

    # globex: parked by the dispatcher after five failed dispatches (shard only).
    r11 = s.run(invoices, "send_reminders", "failed", NOW - 9 * DAY_MS + 30_000, age=DAY_MS)
    last = NOW - 9 * DAY_MS
    m = s.action(r11, ops["sms.send"], NOW - 10 * DAY_MS,
                 "Zeitüberschreitung: api.sms.example antwortet nicht", DeadLetterPlan(
                     "ignored", last + 33_000, Disposition(
                         "retry_exhausted", "automatic retries exhausted after 5 dispatch "
                         "attempts; parked for operator review", DISPATCHER_ACTOR, last + 33_000),
                     RetryStamp(5, last)))
    r11.requeue, r11.claimed_at_ms = Requeue(m.dead_letter_id, m.effect_id, 1, last), last + 500

    # acme: a fresh run waiting for a scheduler slot, no dead letters.
    r12 = s.run(crm, "fetch_leads", "queued", NOW - 3 * MINUTE_MS, age=0)
    r12.started_at_ms, r12.queued_at_ms = None, r12.created_at_ms
    r12.prompt_tokens = r12.completion_tokens = 0
    return autos


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "state"
    data_dir = out / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    sample = Sample()
    autos = build(sample)
    write_state(data_dir, automations=autos, runs=sample.runs, actions=sample.actions,
                waits=sample.waits, now_ms=NOW)
    write_journal(data_dir / "runtime" / "tandemctl-journal.jsonl")
    return 0


PARKED_ID = "dead-letter-effect-a6cc191590fe185d"
PARKED_AT = 1_794_787_200_000  # 2026-11-16T00:00:00Z, the row's disposition time
PARKED_REASON = "duplicate contact \u2014 merged by hand"


def write_journal(path: Path) -> None:
    """One operator operation for the examples (`history`, `undo --dry-run`): alice parked the acme
    row that the sample stores as ignored; the row is still exactly as that operation left it."""
    after = {"status": "ignored", "operator_disposition": "ignored", "disposition_reason": PARKED_REASON,
             "disposition_actor": {"kind": "human_user", "id": "alice@acme.example"},
             "disposition_at_ms": PARKED_AT, "updated_at_ms": PARKED_AT}
    entry = {
        "journal_version": 1, "operation_id": "op-20261116T000000-3fa2c1d0", "at_ms": PARKED_AT,
        "at": "2026-11-16T00:00:00.000Z", "actor": "alice@acme.example", "action": "park", "reason": PARKED_REASON,
        "force": False, "argv": ["--tenant", "acme/ops", "dead-letters", "park", PARKED_ID, "--reason", PARKED_REASON],
        "tenant": "acme/ops", "selector": {"ids": [PARKED_ID]},
        "rows": [{"dead_letter_id": PARKED_ID, "run_id": "automation-v2-run-93550840-067f-4cfc-8e1f-d3d9849acfb5",
                  "tenant": {"org_id": "acme", "workspace_id": "ops"}, "from": "open", "to": "ignored",
                  "fields": list(after), "before": {"status": "open", "updated_at_ms": 1_794_700_799_950},
                  "after": after}],
        "unchanged": [], "refused": [], "not_found": [],
    }
    path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
