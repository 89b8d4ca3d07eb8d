"""Read schemathesis' JUnit report and decide the fuzz run (tests/fuzz/run_schemathesis.sh).

Fails on what the API must never do, whatever the input: a server error (ST1xx "response validation": 5xx,
undocumented status or content type, a body or header the schema does not allow), a broken resource life cycle
(ST3xx), a security failure (ST4xx), a wrong answer to an undeclared method (ST204, ST205). The two input-
handling checks that judge the *request* against the schema (ST201 schema-violating request accepted, ST202
schema-valid request rejected, ST203 missing header accepted) are reported but do not fail the run; docs/security.md
says which findings they make and why each is accepted.

    python tests/fuzz/verdict.py REPORT.xml
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter

FAILURE_LINE = re.compile(r"^- (ST\d{3}) (.+)$", re.MULTILINE)
REPORTED_ONLY = {"ST201", "ST202", "ST203"}


def main(report: str) -> int:
    found: Counter[tuple[str, str]] = Counter()
    for case in ET.parse(report).getroot().iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            codes = FAILURE_LINE.findall(failure.text or "") or [(failure.get("message") or "error", "")]
            for code, title in codes:
                found[(code, title.strip())] += 1
    blocking = {key: count for key, count in found.items() if key[0] not in REPORTED_ONLY}
    for (code, title), count in sorted(found.items()):
        print(f"{'FAIL' if (code, title) in blocking else 'note'} {code} {title}: {count}")
    server_errors = sum(count for (code, _), count in found.items() if code in {"ST101", "ST102"})
    schema_violations = sum(count for (code, _), count in found.items()
                            if code.startswith("ST1") and code not in {"ST101", "ST102"})
    print(f"server errors: {server_errors}; schema violations: {schema_violations}; "
          f"other blocking failures: {sum(blocking.values()) - server_errors - schema_violations}")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
