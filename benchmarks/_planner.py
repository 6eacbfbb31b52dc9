"""Seeded planning of a whole state: automations, runs, external actions and waits.

Only this module and `_categories` draw random numbers; rendering afterwards is pure, so the
same seed always gives the same bytes.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from benchmarks._catalog import (
    COMPENSATIONS,
    ERRORS,
    OPERATIONS,
    REASONS,
    WAIT_REASONS,
    failure_text,
)
from benchmarks._compensation import WaitPlan
from benchmarks._definitions import Automation
from benchmarks._format import DAY_MS, HOUR_MS, MINUTE_MS, rng_uuid
from benchmarks._records import ActionPlan, CompensationPlan, DeadLetterPlan, Disposition
from benchmarks._runs import DEFAULT_FAILURE, RunPlan

SPAN_MS: Final = 60 * DAY_MS
TRIGGERS: Final = ("manual", "webhook", "watch_condition")


@dataclass
class Plan:
    automations: list[Automation]
    runs: list[RunPlan] = field(default_factory=list)
    actions: list[ActionPlan] = field(default_factory=list)
    waits: list[WaitPlan] = field(default_factory=list)
    categories: Counter[str] = field(default_factory=Counter)
    candidate_ids: list[str] = field(default_factory=list)
    dangling_ids: list[str] = field(default_factory=list)


class Planner:
    def __init__(self, rng: random.Random, now_ms: int, automations: list[Automation]) -> None:
        self.rng = rng
        self.now = now_ms
        self.plan = Plan(automations)
        self._keys: Counter[str] = Counter()

    def ago(self, lo: int, hi: int) -> int:
        return self.now - self.rng.randint(lo, hi)

    def after(self, t: int, lo: int, hi: int, margin: int = MINUTE_MS) -> int:
        """A time in [t+lo, t+hi], pulled back to leave `margin` before now, always after t."""
        top = max(min(t + hi, self.now - margin), t + 1)
        return self.rng.randint(min(t + lo, top), top)

    def uuid(self) -> str:
        return rng_uuid(self.rng)

    def new_run(self, automation: Automation, created: int, status: str,
                register: bool = True) -> RunPlan:
        definition = automation.version_at(created)
        run = RunPlan(
            run_id=f"automation-v2-run-{self.uuid()}", automation=automation,
            definition=definition, status=status, trigger_type=self.rng.choice(TRIGGERS),
            created_at_ms=created, started_at_ms=created + self.rng.randint(50, 3000),
            updated_at_ms=created, session_id=self.uuid(), claim_id=f"run-claim-{self.uuid()}",
            fail_index=self.rng.randrange(len(definition.nodes)),
            prompt_tokens=self.rng.randint(800, 40_000),
            completion_tokens=self.rng.randint(200, 8_000))
        if register:
            self.plan.runs.append(run)
        return run

    def failed_run(self, register: bool = True) -> RunPlan:
        t_fail = self.ago(HOUR_MS, SPAN_MS)
        status = "blocked" if self.rng.random() < 0.2 else "failed"
        run = self.new_run(self.rng.choice(self.plan.automations),
                           t_fail - self.rng.randint(MINUTE_MS, 30 * MINUTE_MS), status, register)
        run.updated_at_ms = t_fail + self.rng.randint(5, 900)
        run.node_attempts = self.rng.randint(1, 3)
        if register and run.fail_index > 0 and self.rng.random() < 0.5:
            self.succeeded_action(run, run.definition.nodes[self.rng.randrange(run.fail_index)].node_id)
        return run

    def _action(self, run: RunPlan, node_id: str, at: int, failed: bool) -> ActionPlan:
        operation = self.rng.choice(OPERATIONS)
        self._keys[run.run_id] += 1
        action = ActionPlan(
            key=f"{run.run_id}/{node_id}/{operation.name}#{self._keys[run.run_id]}",
            action_id=f"ext-action-{self.uuid()}", run_id=run.run_id,
            scope=run.automation.scope, node_id=node_id, operation=operation,
            target=self.rng.choice(operation.targets), attempt=run.node_attempts if failed else 1,
            created_at_ms=at - self.rng.randint(200, 5000), updated_at_ms=at, failed=failed,
            policy_decision_id=f"policy-decision-{self.uuid()[:8]}" if self.rng.random() < 0.3
            else None)
        self.plan.actions.append(action)
        return action

    def succeeded_action(self, run: RunPlan, node_id: str) -> ActionPlan:
        start = run.started_at_ms or run.created_at_ms
        end = max(run.updated_at_ms - 1000, start + 2000)
        return self._action(run, node_id, self.rng.randint(start + 1000, end), failed=False)

    def failed_action(self, run: RunPlan) -> ActionPlan:
        # After the node_started event (at most ~30 s into the run), before the run failed.
        room = run.updated_at_ms - (run.started_at_ms or run.created_at_ms) - 30_000
        at = run.updated_at_ms - self.rng.randint(10, max(10, min(60_000, room)))
        action = self._action(run, run.stop_node, at, failed=True)
        action.error = failure_text(self.rng.choice(ERRORS), action.operation)
        if self.rng.random() < 0.3:
            action.compensation = self.new_compensation()
        if run.failure_reason == DEFAULT_FAILURE:
            run.failure_reason = action.error or f"external action `{action.operation.name}` failed"
        action.dead_letter = DeadLetterPlan("open", action.updated_at_ms)
        return action

    def new_compensation(self) -> CompensationPlan:
        kind, rollback, forward_fix = self.rng.choice(COMPENSATIONS)
        return CompensationPlan(kind, rollback, forward_fix)

    def disposition(self, label: str, run: RunPlan, at: int) -> Disposition:
        return Disposition(label, self.rng.choice(REASONS[label]),
                           self.rng.choice(run.automation.tenant.operators), at)

    def clean_run(self) -> RunPlan:
        """A run without dead letters: mostly completed, some queued, running or paused."""
        status = self.rng.choices(("completed", "queued", "running", "paused"), (80, 8, 6, 6))[0]
        oldest = {"completed": SPAN_MS, "running": HOUR_MS}.get(status, 2 * DAY_MS)
        created = self.ago(MINUTE_MS * 2, oldest)
        run = self.new_run(self.rng.choice(self.plan.automations), created, status)
        run.updated_at_ms = self.after(run.started_at_ms or created, 10_000, 30 * MINUTE_MS, 1000)
        if status == "queued":
            run.started_at_ms, run.fail_index, run.updated_at_ms = None, 0, created
            run.queued_at_ms, run.prompt_tokens, run.completion_tokens = created, 0, 0
        elif status == "paused":
            run.pause_reason = "timer wait"
        if status == "completed":
            for node in run.definition.nodes[: self.rng.randint(0, 2)]:
                self.succeeded_action(run, node.node_id)
        return run

    def wait_dead_letter(self) -> WaitPlan:
        timeout_action = self.rng.choice(("escalate", "escalate", "remind", "cancel"))
        t_wait = self.ago(30 * MINUTE_MS, SPAN_MS)
        status = "cancelled" if timeout_action == "cancel" else "paused"
        run = self.new_run(self.rng.choice(self.plan.automations),
                           t_wait - self.rng.randint(HOUR_MS, 3 * DAY_MS), status)
        run.updated_at_ms = t_wait + self.rng.randint(5, 900)
        wait = WaitPlan(run.run_id, f"wait-{self.uuid()}", run.automation.scope, timeout_action,
                        self.rng.choice(("approval", "timer", "external_event")),
                        self.rng.choice(WAIT_REASONS), t_wait, self.rng.randint(3, 400),
                        self.rng.randint(0, 5000), DeadLetterPlan("open", t_wait))
        if status == "paused":
            run.pause_reason = wait.reason
        else:
            run.stop_kind, run.stop_reason = "cancelled", wait.reason
        label = self.rng.choices(("open", "ignored", "retry_requested", "linked_to_compensation"),
                                 (60, 25, 10, 5))[0]
        if label != "open":
            at = self.after(run.updated_at_ms, MINUTE_MS, 3 * DAY_MS)
            wait.dead_letter = DeadLetterPlan(label, at, self.disposition(label, run, at))
        self.plan.waits.append(wait)
        return wait
