"""Every report format a buildspec may name, read into CodeBuild's TestCase fields."""

from __future__ import annotations

import json

import pytest

from runbook_lib.local.codebuild.report_parsers import (
    ReportFileError,
    parse_coverage_file,
    parse_test_file,
)

NUNIT3 = b"""<test-run><test-suite type="Assembly" name="App.Tests.dll">
<test-suite type="TestFixture" name="CalcTests" fullname="App.Tests.CalcTests">
<test-case name="Adds" fullname="App.Tests.CalcTests.Adds" methodname="Adds"
 classname="App.Tests.CalcTests" result="Passed" duration="0.010"/>
<test-case name="Divides" fullname="App.Tests.CalcTests.Divides" methodname="Divides"
 classname="App.Tests.CalcTests" result="Failed" duration="0.020">
<failure><message>Expected 2 but was 3</message></failure></test-case>
</test-suite></test-suite></test-run>"""
NUNIT2 = b"""<test-results name="x"><test-suite type="TestFixture" name="CalcTests"><results>
<test-case name="App.CalcTests.Adds" executed="True" result="Success" time="0.5"/>
<test-case name="App.CalcTests.Later" executed="False" result="Ignored"/>
<test-case name="App.CalcTests.Breaks" executed="True" result="Error" time="0.1">
<failure><message>boom</message></failure></test-case></results></test-suite></test-results>"""
TESTNG = b"""<testng-results><suite name="Suite"><test name="t"><class name="app.CalcTest">
<test-method status="PASS" name="setUp" is-config="true" duration-ms="1"/>
<test-method status="PASS" name="adds" duration-ms="15"/>
<test-method status="FAIL" name="divides" duration-ms="5">
<exception class="java.lang.AssertionError"><message>expected [2] but found [3]</message>
</exception></test-method><test-method status="SKIP" name="later" duration-ms="0"/>
</class></test></suite></testng-results>"""
TRX = b"""<TestRun name="run1" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
<Results><UnitTestResult testId="a" testName="Adds" outcome="Passed" duration="00:00:01.5"/>
<UnitTestResult testId="b" testName="Divides" outcome="Failed" duration="00:00:00.25">
<Output><ErrorInfo><Message>Assert.AreEqual failed</Message></ErrorInfo></Output>
</UnitTestResult></Results><TestDefinitions>
<UnitTest id="a"><TestMethod className="App.CalcTests" name="Adds"/></UnitTest>
<UnitTest id="b"><TestMethod className="App.CalcTests" name="Divides"/></UnitTest>
</TestDefinitions></TestRun>"""
CUCUMBER = json.dumps([{"name": "Checkout", "uri": "features/checkout.feature", "elements": [
    {"name": "pays", "type": "scenario", "steps": [
        {"result": {"status": "passed", "duration": 1000}}]},
    {"name": "declines", "type": "scenario", "steps": [
        {"result": {"status": "passed", "duration": 10}},
        {"result": {"status": "failed", "duration": 20, "error_message": "card declined"}}]},
    {"name": "later", "type": "scenario", "steps": [{"result": {"status": "undefined"}}]},
]}]).encode()


def _rows(cases):
    return [(c["testSuiteName"], c["prefix"], c["name"], c["status"], c.get("message", ""))
            for c in cases]


@pytest.mark.parametrize(("fmt", "data", "expected"), [
    ("NUNIT3XML", NUNIT3, [
        ("CalcTests", "App.Tests.CalcTests", "Adds", "SUCCEEDED", ""),
        ("CalcTests", "App.Tests.CalcTests", "Divides", "FAILED", "Expected 2 but was 3")]),
    ("NUNITXML", NUNIT2, [
        ("CalcTests", "App.CalcTests", "Adds", "SUCCEEDED", ""),
        ("CalcTests", "App.CalcTests", "Later", "SKIPPED", ""),
        ("CalcTests", "App.CalcTests", "Breaks", "ERROR", "boom")]),
    ("TESTNGXML", TESTNG, [
        ("Suite", "app.CalcTest", "adds", "SUCCEEDED", ""),
        ("Suite", "app.CalcTest", "divides", "FAILED", "expected [2] but found [3]"),
        ("Suite", "app.CalcTest", "later", "SKIPPED", "")]),
    ("VISUALSTUDIOTRX", TRX, [
        ("run1", "App.CalcTests", "Adds", "SUCCEEDED", ""),
        ("run1", "App.CalcTests", "Divides", "FAILED", "Assert.AreEqual failed")]),
    ("CUCUMBERJSON", CUCUMBER, [
        ("Checkout", "features/checkout.feature", "pays", "SUCCEEDED", ""),
        ("Checkout", "features/checkout.feature", "declines", "FAILED", "card declined"),
        ("Checkout", "features/checkout.feature", "later", "SKIPPED", "")]),
], ids=["nunit3", "nunit2", "testng", "trx", "cucumber"])
def test_test_formats(fmt, data, expected):
    assert _rows(parse_test_file(data, fmt)) == expected


def test_durations_are_nanoseconds():
    trx = parse_test_file(TRX, "VISUALSTUDIOTRX")
    assert [c["durationInNanoSeconds"] for c in trx] == [1_500_000_000, 250_000_000]
    assert parse_test_file(TESTNG, "TESTNGXML")[0]["durationInNanoSeconds"] == 15_000_000


@pytest.mark.parametrize(("fmt", "data", "lines", "branches"), [
    ("JACOCOXML", b'<report name="r"><counter type="LINE" missed="2" covered="8"/>'
     b'<counter type="BRANCH" missed="1" covered="3"/></report>', (8, 2), (3, 1)),
    ("CLOVERXML", b'<coverage><project><metrics statements="10" coveredstatements="5" '
     b'conditionals="4" coveredconditionals="4"/></project></coverage>', (5, 5), (4, 0)),
    ("SIMPLECOV", json.dumps({"RSpec": {"coverage": {"a.rb": {"lines": [1, None, 0, 2]},
                                                     "b.rb": [0, 0]}}}).encode(),
     (2, 3), (0, 0)),
], ids=["jacoco", "clover", "simplecov"])
def test_coverage_formats(fmt, data, lines, branches):
    summary = parse_coverage_file(data, fmt)
    assert (summary["linesCovered"], summary["linesMissed"]) == lines
    assert (summary["branchesCovered"], summary["branchesMissed"]) == branches


@pytest.mark.parametrize("data", [b"<not xml", b'<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>'])
def test_unreadable_or_entity_xml_is_refused(data):
    with pytest.raises(ReportFileError):
        parse_test_file(data, "JUNITXML")
