"""Spec 03 §2.3 written out literally (independent of `schema_v5`), for the builders' tests.

A column is (name, type, not_null, default); `None` type or not_null means the spec leaves it open."""

Col = tuple[str, str | None, bool | None, str | None]


def _scoped_first(id_column: str, payload: str) -> list[Col]:
    return [(id_column, "TEXT", None, None), ("goal_id", "TEXT", False, None), ("run_id", "TEXT", False, None),
            ("status", "TEXT", True, None), (payload, "TEXT", True, None), ("updated_at_ms", "INTEGER", True, None),
            ("org_id", "TEXT", True, "''"), ("workspace_id", "TEXT", True, "''"),
            ("deployment_id", "TEXT", False, None)]


def _named(*names: str) -> list[Col]:
    return [(name, None, None, None) for name in names]


COLUMNS: dict[str, list[Col]] = {
    "dead_letters": _scoped_first("dead_letter_id", "record_json"),
    "compensations": _scoped_first("compensation_id", "record_json"),
    "outbox_effects": _scoped_first("effect_id", "effect_json"),
    "tool_effects": [("effect_id", "TEXT", None, None), ("goal_id", None, False, None), ("run_id", None, False, None),
                     ("org_id", "TEXT", True, None), ("workspace_id", "TEXT", True, None),
                     ("deployment_id", None, False, None), ("status", "TEXT", True, None),
                     ("effect_json", "TEXT", True, None), ("updated_at_ms", "INTEGER", True, None)],
    "automation_runs": [("run_id", "TEXT", None, None), ("automation_id", "TEXT", True, None),
                        ("org_id", "TEXT", True, None), ("workspace_id", "TEXT", True, None),
                        ("deployment_id", "TEXT", False, None), ("status", "TEXT", True, None),
                        ("is_hot", "INTEGER", True, "1"), ("run_json", "TEXT", True, None),
                        ("created_at_ms", "INTEGER", True, None), ("updated_at_ms", "INTEGER", True, None)],
    "schema_metadata": [("schema_version", "INTEGER", None, None)],
    "stateful_migrations": [("migration_id", "TEXT", None, None),
                            *_named("status", "source_fingerprint", "record_count", "started_at_ms",
                                    "completed_at_ms")],
    "stateful_migration_attempts": [("attempt_id", "INTEGER", None, None),
                                    *_named("migration_id", "source_fingerprint", "started_at_ms"),
                                    ("outcome", None, False, None), *_named("completed_at_ms")],
    "migration_sources": _named("source_kind", "source_path", "imported_at_ms", "record_count"),
    "stateful_backend_transfers": [("transfer_id", "TEXT", None, None),
                                   *_named("source_backend", "target_backend", "source_fingerprint",
                                           "target_fingerprint", "record_count", "status", "started_at_ms",
                                           "completed_at_ms")],
    "stateful_events": [("event_id", "TEXT", None, None), *_named("goal_id", "run_id"),
                        ("seq", "INTEGER", True, None),
                        *_named("event_json", "created_at_ms", "org_id", "workspace_id", "deployment_id")],
}

PRIMARY_KEYS = {
    "dead_letters": ["dead_letter_id"], "compensations": ["compensation_id"], "outbox_effects": ["effect_id"],
    "tool_effects": ["effect_id"], "automation_runs": ["run_id"], "stateful_migrations": ["migration_id"],
    "stateful_migration_attempts": ["attempt_id"], "stateful_backend_transfers": ["transfer_id"],
    "stateful_events": ["event_id"],
}

# (table, columns, unique); index names are given by the spec for the reliability tables only.
INDEXES = {
    "idx_dead_letters_scope": ("dead_letters", ["org_id", "workspace_id"], False),
    "idx_compensations_scope": ("compensations", ["org_id", "workspace_id"], False),
    "idx_outbox_effects_scope": ("outbox_effects", ["org_id", "workspace_id"], False),
    "idx_tool_effects_scope_status": ("tool_effects", ["org_id", "workspace_id", "status"], False),
}
UNNAMED_INDEXES = [("automation_runs", ["org_id", "workspace_id", "status"], False),
                   ("stateful_events", ["run_id", "seq"], True)]

SERIAL_ROWID_TABLES = ["dead_letters", "compensations", "outbox_effects", "tool_effects", "stateful_events"]


def masked(expected: list[Col], actual: list[Col]) -> list[Col]:
    """`actual` with the attributes the spec leaves open blanked out, to compare with `expected`."""
    result: list[Col] = []
    for index, (name, *attrs) in enumerate(actual):
        spec = expected[index] if index < len(expected) else (name, "", True, "")
        kept = [got if want is not None else None for want, got in zip(spec[1:], attrs, strict=True)]
        result.append((name, kept[0], kept[1], kept[2]))
    return result
