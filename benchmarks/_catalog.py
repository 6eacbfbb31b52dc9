"""Vocabulary for generated state: tenants, scopes, external operations, failure reasons.

Everything here is static data or a pure builder; randomness is passed in by the caller.
"""

import random
from dataclasses import dataclass
from typing import Any, Final

LOCAL_TENANT: Final[dict[str, Any]] = {
    "org_id": "local",
    "workspace_id": "local",
    "source": "local_implicit",
}
# Bridge fallback when an action's run is not in memory (spec 01 §9.2 step 3).
UNATTRIBUTED_SCOPE: Final[dict[str, Any]] = {
    "schema_version": 1,
    "tenant_context": {
        "org_id": "unattributed",
        "workspace_id": "unresolved-external-action",
        "actor_id": "stateful-runtime",
        "source": "explicit",
    },
    "owning_org_unit_id": "unresolved-external-action",
}


@dataclass(frozen=True, slots=True)
class Tenant:
    context: dict[str, Any]
    operators: tuple[str, ...]  # who acts on this tenant's dead letters


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    provider: str
    tool: str
    capability_id: str
    host: str
    targets: tuple[str, ...]


OPERATIONS: Final = (
    Operation("slack.post_message", "slack", "SlackPostMessage", "slack.chat.post_message",
              "slack.com", ("#ops-alerts", "#sales-updates", "#billing-bot")),
    Operation("email.send", "mailer", "SendEmail", "email.send", "api.mailer.example",
              ("ops@example.com", "customers@example.com", "finance@example.com")),
    Operation("crm.update_contact", "crm", "CrmUpdateContact", "crm.contacts.update",
              "api.crm.example", ("contact:10442", "contact:20871", "contact:31907")),
    Operation("github.create_issue", "github", "GithubCreateIssue", "github.issues.create",
              "api.github.com", ("acme/infra", "acme/web", "acme/billing")),
    Operation("jira.create_ticket", "jira", "JiraCreateTicket", "jira.issue.create",
              "jira.example.com", ("OPS", "SUP", "FIN")),
    Operation("payments.refund", "payments", "IssueRefund", "payments.refunds.create",
              "api.payments.example", ("charge:ch_3Kx81", "charge:ch_9Qa20")),
    Operation("sms.send", "sms", "SendSms", "sms.messages.send", "api.sms.example",
              ("+15550100", "+15550142")),
    Operation("calendar.create_event", "calendar", "CreateCalendarEvent",
              "calendar.events.insert", "calendar.example.com", ("team-ops", "exec-sync")),
    Operation("webhook.post", "webhook", "PostWebhook", "http.post", "hooks.partner.example",
              ("https://hooks.partner.example/tandem",)),
)

# "{host}" is filled from the operation; None means "no error text" (reason falls back).
ERRORS: Final = (
    "provider timeout", "HTTP 503 from {host}", "HTTP 502 from {host}",
    "rate limited (429) by {host}", "connection reset by peer while calling {host}",
    "invalid_auth: token expired", "TLS handshake with {host} failed", None,
    "Zeitüberschreitung: {host} antwortet nicht", "délai d'attente dépassé ({host})",
    "配信失敗: {host} がタイムアウトしました",
)
REASONS: Final[dict[str, tuple[str | None, ...]]] = {
    "retry_requested": ("provider is back", "vendor outage resolved ✅", "retry after token rotation",
                        "status page green again", None),
    "ignored": ("duplicate — handled by hand", "customer already notified by phone",
                "déjà traité manuellement", "obsolete after plan change", None),
    "linked_to_compensation": ("rollback approved", "refund the partial charge",
                               "compensate: delete the half-posted thread"),
    "reviewed": ("looked at it, waiting for the vendor", "checking with the account owner", None),
}
WAIT_PHRASES: Final = {
    "cancel": "stateful wait timeout cancelled the run",
    "escalate": "stateful wait timeout escalated for operator review",
    "remind": "stateful wait timeout reminder requires operator review",
}
WAIT_REASONS: Final = ("approval from finance not received", "customer reply never arrived",
                       "Freigabe durch die Rechtsabteilung fehlt", None)
COMPENSATIONS: Final = (
    ("operator_review", "review the partial side effect", "re-send once the provider is healthy"),
    ("rollback_message", "delete the posted message", None),
    ("refund", "refund the duplicate charge", "issue a corrected invoice"),
    ("delete_record", "delete the half-written CRM record", None),
)
STEP_NAMES: Final = (
    "collect_inputs", "fetch_accounts", "load_invoices", "enrich_leads", "classify_tickets",
    "summarize", "draft_message", "draft_reminders", "review", "approve_batch", "translate",
    "update_crm", "post_to_slack", "send_email", "open_ticket", "schedule_followup",
    "issue_refund", "sync_calendar", "notify_owner", "archive_report", "log_outcome",
    "score_risk", "render_report", "publish",
)
AGENTS: Final = ("agent-researcher", "agent-writer", "agent-operator", "agent-reviewer")

_EXPLICIT: Final = (
    ("acme", "ops", None, "alice@acme.example"),
    ("globex", "billing", "eu-west-1", "bob@globex.example"),
    ("initech", "platform", None, None),
    ("umbrella", "research", "us-east-2", "carol@umbrella.example"),
    ("hooli", "growth", None, "dana@hooli.example"),
)
_DATA_CLASSES: Final = ("internal", "confidential", "customer_data", "financial_record")
_RISK_TIERS: Final = ("external_send", "customer_data_access", "financial_record_access")


def tenant_context(org: str, workspace: str, deployment: str | None, actor: str | None) -> dict[str, Any]:
    """An explicit TenantContext in declaration order (spec 01 §3.2)."""
    context: dict[str, Any] = {"org_id": org, "workspace_id": workspace}
    if deployment is not None:
        context["deployment_id"] = deployment
    if actor is not None:
        context["actor_id"] = actor
    context["source"] = "explicit"
    return context


def build_tenants(count: int) -> tuple[Tenant, ...]:
    """The local implicit tenant first, then explicit ones (suffixed when the list runs out)."""
    tenants = [Tenant(dict(LOCAL_TENANT), ("operator", "ops-oncall"))]
    for index in range(max(count, 1) - 1):
        org, workspace, deployment, actor = _EXPLICIT[index % len(_EXPLICIT)]
        if index >= len(_EXPLICIT):
            org = f"{org}{index // len(_EXPLICIT) + 1}"
        operators = (actor or "operator", f"oncall@{org}.example")
        tenants.append(Tenant(tenant_context(org, workspace, deployment, actor), operators))
    return tuple(tenants)


def build_scope(tenant: Tenant, automation_id: str, rng: random.Random | None) -> dict[str, Any]:
    """A StatefulRuntimeScope in declaration order; explicit tenants may carry enterprise fields."""
    scope: dict[str, Any] = {"schema_version": 1, "tenant_context": tenant.context}
    if rng is None or tenant.context["source"] != "explicit" or rng.random() < 0.4:
        return scope
    org, workspace = tenant.context["org_id"], tenant.context["workspace_id"]
    scope["owning_org_unit_id"] = f"{workspace}-team"
    scope["owner_principal"] = {"kind": "automation", "id": automation_id}
    if rng.random() < 0.3:
        scope["resource_scope"] = {"root": {"organization_id": org, "workspace_id": workspace,
                                            "resource_kind": "workspace", "resource_id": workspace}}
    scope["data_classes"] = sorted(rng.sample(_DATA_CLASSES, rng.randint(1, 2)))
    scope["risk_tier"] = rng.choice(_RISK_TIERS)
    if rng.random() < 0.5:
        scope["policy_version_id"] = f"policy-{org}-2026-10"
        scope["delegation_grant_ids"] = [f"grant-{automation_id}"]
    return scope


def failure_text(template: str | None, operation: Operation) -> str | None:
    return None if template is None else template.format(host=operation.host)
