"""The verdict line and the exit codes: 0 passed, 1 a promise broken, 2 interrupted,
3 could not look, 4 bad usage, 5 no gate collected."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixtures.verdict.tally import gate_id

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'
PASS = '"""Passes."""\ndef test_ok():\n    pass\n'
FAIL = ('"""Fails."""\nimport pytest\ndef test_bad():\n'
        '    pytest.fail("beta: /chat: status: expected 200, found 500", pytrace=False)\n')
ERROR = ('import pytest\n@pytest.fixture\ndef stack():\n'
         '    raise RuntimeError("GET http://127.0.0.1:8000/health: connection refused")\n'
         'def test_needs_stack(stack):\n    pass\n')
SKIP = 'import pytest\ndef test_s():\n    pytest.skip("no docker engine: pass --backend host")\n'


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("VX11_TOKEN", "tok-verdict-selftest-123")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(PLUGINS)
    pytester.makeini("[pytest]\nmarkers =\n    gate: a production gate\n")
    return pytester


def verdict(pytester: pytest.Pytester) -> dict:
    (path,) = (pytester.path / "reports").glob("*/verdict.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("nodeid, gate", [
    ("gates/test_db_integrity.py::test_x", "db_integrity"),
    ("gates/test_chat_endpoint.py::test_a[10-x]", "chat_endpoint"),
    ("test_x.py", "x"),
    ("checks/smoke.py::test_a", "smoke"),
])
def test_gate_id_is_the_module_name_without_test_(nodeid: str, gate: str) -> None:
    assert gate_id(nodeid) == gate


def test_all_passed_is_0(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_beta=PASS)
    result = project.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["RELEASE GATES: PASSED – 2 gates passed, 0 waived", "*2 passed*"])
    assert verdict(project)["exit_code"] == 0


def test_a_broken_promise_is_1_and_names_the_gate(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_beta=FAIL)
    result = project.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – 1 failed, 0 could not look, 1 passed, 0 waived; failed: beta"])
    gates = {g["id"]: g for g in verdict(project)["gates"]}
    assert gates["beta"]["failures"] == ["test_beta.py::test_bad: beta: /chat: status: expected 200, found 500"]


def test_a_fixture_error_is_3_could_not_look(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_stack=ERROR)
    result = project.runpytest()
    assert result.ret == 3
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – 0 failed, 1 could not look, 1 passed, 0 waived; "
                                 "could not look: stack"])
    assert {g["id"]: g["outcome"] for g in verdict(project)["gates"]} == {"alpha": "passed", "stack": "error"}


def test_broken_promise_outranks_could_not_look(project: pytest.Pytester) -> None:
    project.makepyfile(test_beta=FAIL, test_stack=ERROR)
    assert project.runpytest().ret == 1


def test_worst_outcome_of_a_gate_wins(project: pytest.Pytester) -> None:
    project.makepyfile(test_mixed=PASS + SKIP + "def test_bad():\n    assert 1 == 2\n")
    result = project.runpytest()
    assert result.ret == 1
    (gate,) = verdict(project)["gates"]
    assert gate["outcome"] == "failed" and gate["tests"] == {"failed": 1, "error": 0, "passed": 1, "skipped": 1}


def test_pytest_exit_with_3_is_3(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_zz="import pytest\ndef test_z():\n"
                                                "    pytest.exit('vx11: engine gone', returncode=3)\n")
    result = project.runpytest()
    assert result.ret == 3
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – * (run aborted: vx11: engine gone)"])


def test_a_gate_module_that_does_not_import_is_3(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_broken="import no_such_module_vx11\n")
    result = project.runpytest()
    assert result.ret == 3
    v = verdict(project)
    assert {g["id"]: g["outcome"] for g in v["gates"]} == {"broken": "error"}
    assert v["status"] == "incomplete"


def test_every_gate_skipped_is_3_not_a_pass(project: pytest.Pytester) -> None:
    project.makepyfile(test_docker=SKIP)
    result = project.runpytest()
    assert result.ret == 3
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – 0 failed, 0 could not look, 0 passed, 0 waived "
                                 "(nothing was looked at: every gate skipped)"])


def test_bad_option_keeps_pytest_usage_error_4(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS)
    result = project.runpytest("--no-such-option")
    assert result.ret == 4


def test_no_gate_collected_is_5(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS)
    result = project.runpytest("-m", "gtae")  # a typo: every test deselected
    assert result.ret == 5
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – no gate collected (check -m marker expression)"])
    assert verdict(project)["exit_code"] == 5


def test_an_empty_folder_is_5(project: pytest.Pytester) -> None:
    result = project.runpytest()
    assert result.ret == 5
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – no gate collected*"])


def test_xfail_counts_as_skipped_and_strict_xpass_as_failed(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_x="import pytest\n@pytest.mark.xfail(strict=True)\n"
                                               "def test_x():\n    pass\n@pytest.mark.xfail\ndef test_y():\n"
                                               "    assert 0\n")
    assert project.runpytest().ret == 1
    (gate,) = [g for g in verdict(project)["gates"] if g["id"] == "x"]
    assert gate["tests"]["failed"] == 1 and gate["tests"]["skipped"] == 1


@pytest.mark.slow
def test_exit_codes_are_the_same_under_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_stack=ERROR)
    assert project.runpytest_subprocess("-n", "2").ret == 3
    project.makepyfile(test_beta=FAIL)
    assert project.runpytest_subprocess("-n", "2").ret == 1
    result = project.runpytest_subprocess("-n", "2", "-m", "gtae")
    assert result.ret == 5
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – no gate collected*"])


def test_a_usage_error_in_configure_is_4_and_leaves_no_folder(project: pytest.Pytester) -> None:
    project.makeconftest(PLUGINS + "import pytest\ndef pytest_configure(config):\n"
                                   "    raise pytest.UsageError('profile vx11.toml: key stack.launcher: expected one of ...')\n")
    project.makepyfile(test_alpha=PASS)
    result = project.runpytest()
    assert result.ret == 4
    assert not list((project.path / "reports").glob("*/"))


@pytest.mark.parametrize("flag", ["--fixtures", "--markers", "--collect-only", "--setup-plan"])
def test_informational_runs_keep_pytest_exit_codes_and_write_nothing(project: pytest.Pytester, flag: str) -> None:
    project.makepyfile(test_alpha=PASS)
    result = project.runpytest(flag)
    assert result.ret == 0
    assert "RELEASE GATES" not in result.stdout.str()
    assert not list((project.path / "reports").glob("*/"))


NA = 'import pytest\ndef test_n():\n    pytest.skip("n/a: host backend: internal ports listen on loopback")\n'
GATED = 'import pytest\npytestmark = [pytest.mark.gate]\ndef test_one():\n    pass\ndef test_two():\n    pass\n'


def test_a_check_that_cannot_apply_is_na_and_the_gate_passes(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS + NA.replace("import pytest\n", "import pytest\n", 1))
    result = project.runpytest()
    assert result.ret == 0, result.stdout.str()
    (gate,) = verdict(project)["gates"]
    assert gate["outcome"] == "passed"
    assert gate["checks"] == [{"test": "test_alpha.py::test_n", "status": "n/a",
                               "reason": "n/a: host backend: internal ports listen on loopback"}]


def test_a_check_skipped_by_configuration_leaves_the_run_incomplete(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=PASS, test_mixed=PASS + SKIP)
    result = project.runpytest()
    assert result.ret == 6
    result.stdout.fnmatch_lines(["RELEASE GATES: INCOMPLETE – 1 passed, 1 not fully checked, 0 not run, 0 waived; "
                                 "not a release decision; not fully checked: mixed (test_s: no docker engine*"])
    v = verdict(project)
    assert v["verdict"] == "INCOMPLETE" and v["status"] == "partial" and v["release_status"] == "partial"
    assert {g["id"]: g["outcome"] for g in v["gates"]} == {"alpha": "passed", "mixed": "not fully checked"}


@pytest.mark.parametrize("args", [("-k", "one"), ("--deselect", "test_g.py::test_two"),
                                  ("-m", "gate and not slow")])
def test_a_deselected_release_check_is_never_passed(project: pytest.Pytester, args: tuple[str, ...]) -> None:
    project.makeini("[pytest]\nmarkers =\n    gate: a production gate\n    slow: slow\n")
    project.makepyfile(test_g=GATED.replace("def test_two", "@pytest.mark.slow\ndef test_two"))
    result = project.runpytest(*args)
    assert result.ret == 6, result.stdout.str()
    result.stdout.fnmatch_lines(["RELEASE GATES: INCOMPLETE – 0 passed, 1 not fully checked, * "
                                 "not fully checked: g (test_two: deselected in this run)"])


@pytest.mark.slow
def test_deselection_is_seen_under_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(test_g=GATED, test_h=GATED)
    result = project.runpytest_subprocess("-n", "2", "-k", "one")
    assert result.ret == 6, result.stdout.str()
    result.stdout.fnmatch_lines(["RELEASE GATES: INCOMPLETE – 0 passed, 2 not fully checked, *"])
