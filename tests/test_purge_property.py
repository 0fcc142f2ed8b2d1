"""A property of applying a purge plan, over random tenants, random (even edited) plans and random
fault points: lost connections, server errors, answers lost after the change took effect, and
Ctrl-C before or after a call. Whatever happens, and however many runs it takes:

- no person outside the plan is ever deleted;
- no DELETE reaches the tenant unless the person's backup line is already on disk;
- nobody is deleted twice; in the end the deleted set is the plan minus the skipped, and the
  journal agrees.

Runs on the sandbox's in-process transport, so that hundreds of examples take seconds.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ta_steget_cli import journal as j
from ta_steget_cli import purge as service
from ta_steget_cli.config import parse_config
from ta_steget_cli.errors import TastegetError
from ta_steget_cli.sandbox import IN_PROCESS_BASE_URL, SandboxTenant, api_url, ids, transport
from ta_steget_cli.sandbox.tool_config import sandbox_secrets
from ta_steget_cli.superoffice import SuperOfficeClient
from ta_steget_cli.workdays import purge_cutoff
from tests.conftest import AS_OF, merge, sandbox_document

CUTOFF = purge_cutoff(AS_OF, 5)
OLD = datetime(2018, 2, 3, 9, 0, tzinfo=UTC)
DELETE_PATH = re.compile(r"/v1/Person/(\d+)$")


@dataclass(frozen=True)
class Kind:
    old: bool
    subscriber: str | None  # None | "consent" | "withdrawn" | "interest"
    recent_activity: bool
    changed: bool  # changed after the plan was made


person_kinds = st.builds(
    Kind,
    old=st.booleans(),
    subscriber=st.sampled_from([None, None, "consent", "withdrawn", "interest"]),
    recent_activity=st.booleans(),
    changed=st.booleans(),
)
fault = st.tuples(
    st.integers(min_value=1, max_value=40),  # at the k-th person call (get or delete)
    st.sampled_from(["ctrl_c_before", "ctrl_c_after", "drop", "status", "timeout", "lost"]),
)


class CheckingTransport(httpx.BaseTransport):
    """Passes calls to the sandbox, checking each DELETE against the plan and the backup file."""

    def __init__(self, inner: httpx.BaseTransport, plan_ids: set[int], backup: Path) -> None:
        self.inner, self.plan_ids, self.backup = inner, plan_ids, backup
        self.violations: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        match = DELETE_PATH.search(request.url.path)
        if request.method == "DELETE" and match:
            pid = int(match.group(1))
            if pid not in self.plan_ids:
                self.violations.append(f"DELETE of {pid}, who is not in the plan")
            if pid not in j.backed_up_ids(self.backup):
                self.violations.append(f"DELETE of {pid} before its backup line")
        return self.inner.handle_request(request)


class Faulty:
    """The client, with faults at chosen person calls: the sandbox's network faults, or a
    Ctrl-C just before a call or just after it took effect."""

    def __init__(self, client: SuperOfficeClient, tenant: Any, faults: dict[int, str]) -> None:
        self._client, self._tenant, self._faults, self.calls = client, tenant, faults, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _call(self, method: str, *args: Any, **kw: Any) -> Any:
        self.calls += 1
        what = self._faults.pop(self.calls, None)
        if what == "ctrl_c_before":
            raise KeyboardInterrupt
        if what == "drop":
            self._tenant.faults.add("drop", path="/v1/Person/", times=1)
        elif what == "status":
            self._tenant.faults.add("status", status=503, path="/v1/Person/", times=1)
        elif what == "timeout":  # the call takes effect, its answer is lost
            self._tenant.faults.add("timeout", path="/v1/Person/", times=1)
        elif what == "lost":  # longer than the retries: the run stops
            self._tenant.faults.add("drop", path="/v1/Person/", times=5)
        answer = getattr(self._client, method)(*args, **kw)
        if what == "ctrl_c_after":
            raise KeyboardInterrupt
        return answer

    def get_person(self, person_id: int) -> Any:
        return self._call("get_person", person_id)

    def delete_person(self, person_id: int, **kw: Any) -> Any:
        return self._call("delete_person", person_id, **kw)


def build_tenant(kinds: list[Kind]) -> tuple[Any, list[int]]:
    tenant = SandboxTenant(persons=0, seed=2, today=AS_OF)
    tenant.timeout_sleep = 0.0
    made = []
    for n, kind in enumerate(kinds):
        registered = OLD + timedelta(days=n) if kind.old else datetime(2024, 5, 1, tzinfo=UTC)
        pid = tenant.add_person(
            "Test",
            f"P{n}",
            registered=registered,
            emarketing={"consent": "active", "withdrawn": "withdrawn"}.get(kind.subscriber or ""),
            interests=[ids.NEWSLETTER_INTEREST] if kind.subscriber == "interest" else [],
        )
        if kind.recent_activity:
            tenant.add_activity(pid, "appointment", date=datetime(2025, 1, 7, tzinfo=UTC))
        made.append(pid)
    return tenant, made


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    kinds=st.lists(person_kinds, min_size=1, max_size=12),
    chosen=st.data(),
    faults=st.lists(fault, max_size=6),
)
def test_never_outside_the_plan_never_without_a_backup(
    kinds: list[Kind], chosen: st.DataObject, faults: list[tuple[int, str]]
) -> None:
    tenant, all_ids = build_tenant(kinds)
    # A random plan, edited or not: any persons of the register, not only the rule's.
    planned = chosen.draw(st.lists(st.sampled_from(all_ids), unique=True, max_size=len(all_ids)))
    data_dir = Path(tempfile.mkdtemp(prefix="purge-prop-"))
    api = api_url(IN_PROCESS_BASE_URL)
    document = merge(
        sandbox_document(api, data_dir), {"superoffice": {"max_retries": 2, "page_size": 4}}
    )
    config = parse_config(document)
    now = datetime.now(UTC)

    def seen(pid: int) -> str | None:
        return service._utc_text(datetime.fromtimestamp(tenant.person(pid).updated, UTC))

    plan = j.Plan(
        tenant=api,
        as_of=AS_OF,
        created_at=now,
        rule=service.rule_of(config.purge, CUTOFF),
        persons=tuple(j.PlannedPerson(pid, seen(pid)) for pid in planned),
    )
    for pid, kind in zip(all_ids, kinds, strict=True):
        if kind.changed:
            tenant.touch(tenant.person(pid))
    _, backup, _ = j.purge_files(data_dir, plan.key)
    checking = CheckingTransport(transport(tenant), set(planned), backup)
    client = SuperOfficeClient(
        config.superoffice, sandbox_secrets(), transport=checking, sleep=lambda _s: None
    )
    faulty = Faulty(client, tenant, dict(faults))
    for _run in range(2 + len(faults)):
        try:
            result = service.apply_plan(faulty, config, plan)  # type: ignore[arg-type]
        except (KeyboardInterrupt, TastegetError):
            continue
        if result.status != "error":
            break
    else:
        raise AssertionError("the purge did not finish after every fault had passed")

    assert checking.violations == []
    journal, backup, _ = j.purge_files(data_dir, plan.key)
    states = j.journal_states(journal)
    deleted = {p.id for p in tenant._persons if p.deleted_at is not None}
    skipped = {pid for pid, s in states.items() if s["step"] == "skipped"}
    assert deleted <= set(planned)
    assert deleted == set(planned) - skipped
    assert deleted <= j.backed_up_ids(backup)
    assert {pid for pid, s in states.items() if s["step"] == "done"} == deleted
    deletes = [p for m, p, status in tenant.requests if m == "DELETE" and status == 204]
    assert len(deletes) == len(set(deletes)), "somebody was deleted twice"
    # the rule holds on every deleted person, even from an edited plan
    for pid, kind in zip(all_ids, kinds, strict=True):
        if pid in deleted:
            assert kind.old and not kind.recent_activity and not kind.changed
            assert kind.subscriber in (None, "withdrawn")
