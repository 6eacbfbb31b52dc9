"""Pydantic models of the reliability store's records (spec 01 §3–§5), strict like serde.

Mirrors `tandem-server/src/stateful_runtime/types.rs` and `tandem-enterprise-contract`.
The models validate; the raw dicts they were validated from remain the data that is
written back, so unknown keys and byte layout survive (see stores/json_codec.py).
"""

from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, StrictStr

U32 = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
U64 = Annotated[int, Strict(), Field(ge=0, le=2**64 - 1)]


class _Record(BaseModel):
    # Unknown keys are accepted (serde ignores them). The models only validate; the raw dicts
    # keep unknown keys, so the models need not carry them (ignoring is ~30% faster at 100k rows).
    model_config = ConfigDict(extra="ignore", frozen=True)


class TenantSource(StrEnum):
    LOCAL_IMPLICIT = "local_implicit"
    EXPLICIT = "explicit"


class PrincipalKind(StrEnum):
    HUMAN_USER = "human_user"
    ORGANIZATION_UNIT = "organization_unit"
    GROUP = "group"
    DEPARTMENT = "department"
    AGENT_WORKER = "agent_worker"
    AUTOMATION = "automation"
    SERVICE_ACCOUNT = "service_account"
    EXTERNAL_DELEGATE = "external_delegate"
    SUPPORT_OPERATOR = "support_operator"


class DataClass(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"
    EXECUTIVE = "executive"
    CREDENTIAL = "credential"
    REGULATED = "regulated"
    CUSTOMER_DATA = "customer_data"
    SOURCE_CODE = "source_code"
    FINANCIAL_RECORD = "financial_record"


class ToolRiskTier(StrEnum):
    READ_DISCOVER = "read_discover"
    INTERNAL_WRITE = "internal_write"
    EXTERNAL_DRAFT = "external_draft"
    EXTERNAL_SEND = "external_send"
    CUSTOMER_DATA_ACCESS = "customer_data_access"
    SOURCE_CODE_MUTATION = "source_code_mutation"
    FINANCIAL_RECORD_ACCESS = "financial_record_access"
    CREDENTIAL_ADMIN = "credential_admin"
    DESTRUCTIVE_DELETE = "destructive_delete"
    MONEY_MOVEMENT_CONTRACT = "money_movement_contract"


class ResourceKind(StrEnum):
    ORGANIZATION = "organization"
    WORKSPACE = "workspace"
    ORGANIZATION_UNIT = "organization_unit"
    DEPARTMENT = "department"
    GROUP = "group"
    PROJECT = "project"
    DATA_ROOM = "data_room"
    SHARED_DRIVE = "shared_drive"
    DOCUMENT_COLLECTION = "document_collection"
    DATA_STORE = "data_store"
    DATASET = "dataset"
    DOCUMENT = "document"
    REPOSITORY = "repository"
    DIRECTORY = "directory"
    FILE = "file"
    ARTIFACT = "artifact"
    MEMORY_SPACE = "memory_space"
    KNOWLEDGE_SPACE = "knowledge_space"
    SECRET_PROVIDER_CREDENTIAL = "secret_provider_credential"
    AUTOMATION = "automation"
    RUN = "run"
    APPROVAL = "approval"
    AUDIT_EXPORT = "audit_export"
    MCP_SERVER = "mcp_server"
    MCP_TOOL = "mcp_tool"
    CONNECTOR_INSTANCE = "connector_instance"
    SOURCE_BINDING = "source_binding"
    SOURCE_OBJECT = "source_object"
    INGESTION_JOB = "ingestion_job"
    EXTERNAL_INTEGRATION_ACCOUNT = "external_integration_account"


class DeadLetterStatus(StrEnum):
    OPEN = "open"
    RETRY_REQUESTED = "retry_requested"
    RETRYING = "retrying"
    IGNORED = "ignored"
    LINKED_TO_COMPENSATION = "linked_to_compensation"
    RESOLVED = "resolved"


class RecoveryOption(StrEnum):
    RETRY = "retry"
    IGNORE = "ignore"
    COMPENSATE = "compensate"
    ABANDON = "abandon"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    CANCELLED = "cancelled"


class ToolEffectStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class CompensationStatus(StrEnum):
    PROPOSED = "proposed"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TenantContext(_Record):
    org_id: StrictStr
    workspace_id: StrictStr
    deployment_id: StrictStr | None = None
    actor_id: StrictStr | None = None
    source: TenantSource = TenantSource.LOCAL_IMPLICIT


class PrincipalRef(_Record):
    kind: PrincipalKind
    id: StrictStr
    tenant_actor_id: StrictStr | None = None
    issuer: StrictStr | None = None
    subject: StrictStr | None = None


class ResourcePathSegment(_Record):
    kind: ResourceKind
    id: StrictStr
    name: StrictStr | None = None


class ResourceRef(_Record):
    organization_id: StrictStr
    workspace_id: StrictStr
    project_id: StrictStr | None = None
    resource_kind: ResourceKind
    resource_id: StrictStr
    parent_path: list[ResourcePathSegment] = Field(default_factory=list)
    branch_id: StrictStr | None = None
    path_prefix: StrictStr | None = None


class ResourceScope(_Record):
    root: ResourceRef
    allowed_resources: list[ResourceRef] = Field(default_factory=list)
    denied_resources: list[ResourceRef] = Field(default_factory=list)
    max_depth: U32 | None = None


LOCAL_TENANT: Final[dict[str, str]] = {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}


class Scope(_Record):
    schema_version: U32 = 1
    tenant_context: TenantContext = TenantContext(org_id="local", workspace_id="local")
    owning_org_unit_id: StrictStr | None = None
    owner_principal: PrincipalRef | None = None
    resource_scope: ResourceScope | None = None
    data_classes: list[DataClass] = Field(default_factory=list)
    risk_tier: ToolRiskTier | None = None
    policy_version_id: StrictStr | None = None
    delegation_grant_ids: list[StrictStr] = Field(default_factory=list)


class OutboxRecord(_Record):
    schema_version: U32 = 1
    outbox_id: StrictStr
    run_id: StrictStr | None = None
    scope: Scope
    operation: StrictStr
    status: OutboxStatus
    source_kind: StrictStr | None = None
    source_id: StrictStr | None = None
    node_id: StrictStr | None = None
    provider: StrictStr | None = None
    tool: StrictStr | None = None
    target: StrictStr | None = None
    idempotency_key: StrictStr | None = None
    payload_digest: StrictStr | None = None
    policy_decision_id: StrictStr | None = None
    context_assertion_id: StrictStr | None = None
    effect_id: StrictStr | None = None
    receipt_id: StrictStr | None = None
    compensation_id: StrictStr | None = None
    dead_letter_id: StrictStr | None = None
    attempts: U32 = 0
    created_at_ms: U64
    updated_at_ms: U64
    claimed_by: StrictStr | None = None
    claimed_at_ms: U64 | None = None
    claim_expires_at_ms: U64 | None = None
    metadata: Any = None


class ToolEffectRecord(_Record):
    schema_version: U32 = 1
    effect_id: StrictStr
    outbox_id: StrictStr | None = None
    action_id: StrictStr | None = None
    run_id: StrictStr | None = None
    scope: Scope
    status: ToolEffectStatus
    operation: StrictStr
    source_kind: StrictStr | None = None
    source_id: StrictStr | None = None
    node_id: StrictStr | None = None
    provider: StrictStr | None = None
    tool: StrictStr | None = None
    target: StrictStr | None = None
    external_resource: Any = None
    policy_decision_id: StrictStr | None = None
    context_assertion_id: StrictStr | None = None
    input_digest: StrictStr | None = None
    output_digest: StrictStr | None = None
    receipt_payload_digest: StrictStr | None = None
    receipt_payload_redacted: Any = None
    receipt_pointer: StrictStr | None = None
    redaction_tier: StrictStr = ""
    audit_hash: StrictStr
    error: StrictStr | None = None
    compensation_id: StrictStr | None = None
    created_at_ms: U64
    updated_at_ms: U64
    metadata: Any = None


class DeadLetterRecord(_Record):
    schema_version: U32 = 1
    dead_letter_id: StrictStr
    source_type: StrictStr
    source_id: StrictStr
    run_id: StrictStr | None = None
    scope: Scope
    reason: StrictStr
    status: DeadLetterStatus
    recovery_options: list[RecoveryOption] = Field(default_factory=list)
    payload_pointer: StrictStr | None = None
    compensation_id: StrictStr | None = None
    attempts: U32 = 0
    created_at_ms: U64
    updated_at_ms: U64
    operator_disposition: StrictStr | None = None
    disposition_reason: StrictStr | None = None
    disposition_actor: PrincipalRef | None = None
    disposition_at_ms: U64 | None = None
    metadata: Any = None


class CompensationRecord(_Record):
    schema_version: U32 = 1
    compensation_id: StrictStr
    run_id: StrictStr | None = None
    scope: Scope
    status: CompensationStatus
    compensation_type: StrictStr
    target_effect_id: StrictStr | None = None
    outbox_id: StrictStr | None = None
    approval_required: StrictBool = False
    policy_decision_id: StrictStr | None = None
    rollback_instruction: StrictStr | None = None
    forward_fix_instruction: StrictStr | None = None
    receipt_effect_id: StrictStr | None = None
    attempts: U32 = 0
    created_at_ms: U64
    updated_at_ms: U64
    metadata: Any = None


# Collection name -> (model, primary key), in the order the engine writes them.
COLLECTIONS: Final[dict[str, tuple[type[_Record], str]]] = {
    "outbox": (OutboxRecord, "outbox_id"),
    "tool_effects": (ToolEffectRecord, "effect_id"),
    "dead_letters": (DeadLetterRecord, "dead_letter_id"),
    "compensations": (CompensationRecord, "compensation_id"),
}

# Keys whose values are free-form JSON: written with sorted keys by the engine.
FREE_FORM_KEYS: Final = frozenset({"metadata", "external_resource", "receipt_payload_redacted"})


def field_order(model: type[BaseModel]) -> tuple[str, ...]:
    """Declaration order = the engine's serialisation order."""
    return tuple(model.model_fields)
