"""Schemathesis fuzzes every operation of the OpenAPI spec as an admin: no request gives a server error."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the OpenAPI fuzz test needs schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from workbench_helpers import EXAMPLES, make_workbench, seed  # noqa: E402

from ttpmap.server import jobs  # noqa: E402

EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, analysis_apt, kb):
    path = tmp_path_factory.mktemp("openapi") / "store.sqlite"
    wb = make_workbench(f"sqlite:///{path}")
    seed(wb.store, analysis_apt, (EXAMPLES / "apt-exchange-intrusion.md").read_text(encoding="utf-8"))
    jobs.enqueue(wb.store, "analyze", filename="a.txt", payload=b"text")
    yield wb
    wb.store.close()


def test_no_operation_fails_with_a_server_error(fuzzed):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    auth = {"Authorization": f"Bearer {fuzzed.tokens['admin']}"}
    seen: dict[str, set[int]] = {}

    def fuzz(operation) -> None:
        name = f"{operation.method} {operation.path}"

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = case.call(headers=auth)
            case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])
            seen.setdefault(name, set()).add(response.status_code)
            if response.status_code >= 400:
                assert "\n" not in response.json()["detail"]

        run()

    for operation in operations:
        fuzz(operation)
    assert len(seen) == len(operations)
