#!/usr/bin/env python3
"""Counts test cases from a Bazel run: reads the Build Event Protocol JSON file and the test.xml of every test
result it names, and prints one line, "bazel: N passed, N failed, N skipped", plus a line per failure.

A test target that did not build, or ran without a test.xml naming a failed case although Bazel marked it failed
(crash, timeout), counts as one failed case; so does a target that passed without running any case, unless
--filtered says a test filter was in force. Usage: test_summary.py [--filtered] BEP_JSON TEST_LABELS_FILE
"""

import json
import sys
import urllib.parse
import xml.etree.ElementTree as ElementTree


def latest_results(bep_path):
    """Maps (label, run, shard) to the last attempt's (status, test.xml path or None)."""
    results = {}
    with open(bep_path, encoding="utf-8") as bep:
        for line in bep:
            event = json.loads(line)
            test_id = event.get("id", {}).get("testResult")
            if not test_id or "testResult" not in event:
                continue
            key = (test_id["label"], test_id.get("run", 1), test_id.get("shard", 1))
            attempt = test_id.get("attempt", 1)
            xml_path = None
            for output in event["testResult"].get("testActionOutput", []):
                if output.get("name") == "test.xml" and output.get("uri", "").startswith("file://"):
                    xml_path = urllib.parse.unquote(output["uri"][len("file://"):])
            if key not in results or results[key][0] <= attempt:
                results[key] = (attempt, event["testResult"].get("status", "FAILED"), xml_path)
    return {key: (status, xml_path) for key, (_, status, xml_path) in results.items()}


def count_cases(xml_path):
    """Returns (passed, failed names, skipped) for one gtest/Bazel test.xml."""
    passed, failed, skipped = 0, [], 0
    root = ElementTree.parse(xml_path).getroot()
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif case.get("result") == "skipped" or case.find("skipped") is not None or case.get("status") == "notrun":
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main():
    args = sys.argv[1:]
    filtered = "--filtered" in args
    bep_path, labels_path = [arg for arg in args if arg != "--filtered"]
    with open(labels_path, encoding="utf-8") as labels_file:
        test_labels = [line.strip() for line in labels_file if line.strip()]
    results = latest_results(bep_path)
    passed, skipped, failures = 0, 0, []
    for label in test_labels:
        runs = {key: value for key, value in results.items() if key[0] == label}
        if not runs:
            failures.append(f"{label}: did not build or run")
            continue
        for (_, run, shard), (status, xml_path) in sorted(runs.items()):
            case_passed, case_failed, case_skipped = 0, [], 0
            if xml_path:
                try:
                    case_passed, case_failed, case_skipped = count_cases(xml_path)
                except (OSError, ElementTree.ParseError) as error:
                    case_failed = [f"unreadable test.xml ({error})"]
            passed += case_passed
            skipped += case_skipped
            failures += [f"{label}: {name}" for name in case_failed]
            if status != "PASSED" and not case_failed:
                failures.append(f"{label}: {status} (run {run}, shard {shard})")
            elif status == "PASSED" and case_passed == 0 and case_skipped == 0 and not filtered:
                failures.append(f"{label}: passed without running a test case")
    for failure in failures:
        print(f"FAILED {failure}")
    print(f"bazel: {passed} passed, {len(failures)} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
