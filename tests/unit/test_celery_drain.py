"""datalake.airflow.celery_drain: what to cancel (the in-container script's
own code, exec'd here), the script against a stand-in for Celery's remote
control, the module's main() against a stand-in for docker, and the compose
command lines both modules share."""

import io
import json
import sys
import time
import types

import pytest

from ansible_collections.datalake.airflow.plugins.module_utils import celery_drain_script, compose
from ansible_collections.datalake.airflow.plugins.modules import celery_drain

SCRIPT = {"__name__": "celery_drain_script"}
exec(compile(celery_drain_script.SCRIPT, "celery_drain_script", "exec"), SCRIPT)  # noqa: S102 (our own constant)
NODE = "celery@worker-1"


def queues(*names):
    return [{"name": n, "exchange": {"name": n}, "routing_key": n} for n in names]


@pytest.mark.parametrize("replies, consuming, cancel", [
    ({NODE: queues("default", "gpu")}, ["default"], ["default"]),
    ({NODE: queues("gpu")}, [], []),
    ({NODE: []}, [], []),
    ({NODE: None}, [], []),
    ({"celery@other": queues("default")}, [], ["default", "etl"]),
    ({}, [], ["default", "etl"]),
    (None, [], ["default", "etl"])])
def test_a_node_is_told_to_stop_consuming_what_it_consumes_or_all_if_it_did_not_answer(replies, consuming, cancel):
    assert SCRIPT["to_cancel"](replies, NODE, ["default", "etl"]) == (consuming, cancel)


def test_the_nodes_tasks_are_its_active_and_reserved_ones():
    busy = SCRIPT["busy"]
    assert busy({NODE: [1, 2], "celery@other": [3]}, {NODE: [4]}, NODE) == 3
    assert busy({NODE: None}, {NODE: []}, NODE) == 0


@pytest.mark.parametrize("active, reserved", [
    (None, None), ({}, {NODE: []}), ({NODE: []}, None), ({"celery@other": []}, {NODE: []})])
def test_a_node_that_did_not_answer_runs_an_unknown_number_of_tasks_not_none(active, reserved):
    assert SCRIPT["busy"](active, reserved, NODE) is None


class Control:
    """Celery's app.control for one node: the queues it consumes, and how many
    tasks it runs at each inspect() round; `calls` records what it was told."""

    def __init__(self, consumed, rounds):
        self.consumed, self.rounds, self.calls = consumed, list(rounds), []

    def inspect(self, destination, timeout):
        control = self

        class Inspect:
            def active_queues(self):
                return None if control.consumed is None else {NODE: queues(*control.consumed)}

            def active(self):
                running = control.rounds.pop(0) if len(control.rounds) > 1 else control.rounds[0]
                return None if running is None else {NODE: [{"id": i} for i in range(running)]}

            def reserved(self):
                return {NODE: []}

        return Inspect()

    def cancel_consumer(self, queue, destination, reply, timeout):
        self.calls.append((queue, destination))
        self.consumed = [q for q in self.consumed or [] if q != queue]


@pytest.fixture
def celery(monkeypatch):
    """A worker consuming default, running 2 tasks, then 1, then none; a
    clock that moves 5 s with each sleep."""
    control = Control(["default", "gpu"], [2, 1, 0])
    module = types.ModuleType("celery_executor")
    module.app = types.SimpleNamespace(control=control)
    for name in ("airflow", "airflow.providers", "airflow.providers.celery", "airflow.providers.celery.executors"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "airflow.providers.celery.executors.celery_executor", module)
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    return control


def run_script(stdin, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    exec(compile(celery_drain_script.SCRIPT, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
    return json.loads(capsys.readouterr().out.splitlines()[-1])


def test_the_script_cancels_and_waits_until_the_node_runs_nothing(celery, monkeypatch, capsys):
    out = run_script(celery_drain.payload(NODE, ["default"], 600, False), monkeypatch, capsys)
    assert out == {"node": NODE, "consuming": ["default"], "cancelled": ["default"], "drained": True, "running": 0,
                   "waited": 10}
    assert celery.calls == [("default", [NODE])] and celery.consumed == ["gpu"]


def test_the_script_stops_waiting_after_the_grace_period(celery, monkeypatch, capsys):
    out = run_script(celery_drain.payload(NODE, ["default"], 3, False), monkeypatch, capsys)
    assert out["drained"] is False and out["running"] == 1 and out["waited"] == 5
    celery.rounds = [4]
    out = run_script(celery_drain.payload(NODE, ["default"], 0, False), monkeypatch, capsys)
    assert (out["drained"], out["running"], out["waited"]) == (False, 4, 0)


def test_the_script_asks_again_a_node_that_did_not_answer_and_never_takes_it_as_drained(celery, monkeypatch,
                                                                                       capsys):
    celery.rounds = [None, None, 1, 0]
    out = run_script(celery_drain.payload(NODE, ["default"], 600, False), monkeypatch, capsys)
    assert (out["drained"], out["running"], out["waited"]) == (True, 0, 15)
    celery.rounds = [None]
    out = run_script(celery_drain.payload(NODE, ["default"], 12, False), monkeypatch, capsys)
    assert (out["drained"], out["running"], out["waited"]) == (False, None, 15)
    assert celery_drain.outcome(0, json.dumps(out), "", NODE, "worker")["running"] is None


def test_the_script_waits_for_a_node_already_drained_without_cancelling(celery, monkeypatch, capsys):
    celery.consumed = ["gpu"]
    out = run_script(celery_drain.payload(NODE, ["default"], 600, False), monkeypatch, capsys)
    assert out["consuming"] == [] and out["cancelled"] == [] and out["drained"] is True and celery.calls == []


def test_the_script_in_check_mode_asks_and_touches_nothing(celery, monkeypatch, capsys):
    out = run_script(celery_drain.payload(NODE, ["default", "etl"], 600, True), monkeypatch, capsys)
    assert out == {"node": NODE, "consuming": ["default"], "cancelled": [], "drained": False, "running": 2,
                   "waited": 0}
    assert celery.calls == [] and time.monotonic() == 100.0


@pytest.mark.parametrize("node, wanted, grace, message", [
    (" ", ["default"], 10, "node must name"), (NODE, [], 10, "at least one queue"),
    (NODE, ["default", " "], 10, "none empty"), (NODE, ["default"], -1, "0 or more seconds, got -1")])
def test_the_payload_refuses_bad_values(node, wanted, grace, message):
    with pytest.raises(ValueError, match=message):
        celery_drain.payload(node, wanted, grace, False)


RESULT = {"node": NODE, "consuming": ["default"], "cancelled": ["default"], "drained": True, "running": 0,
          "waited": 42}


@pytest.mark.parametrize("out, changed", [
    (json.dumps(RESULT), True), ("a warning\n" + json.dumps(RESULT | {"consuming": [], "cancelled": []}), False)])
def test_changed_only_when_the_node_consumed_one_of_the_queues(out, changed):
    assert celery_drain.outcome(0, out, "", NODE, "worker") == {
        "changed": changed, "node": NODE, "consuming": ["default"] if changed else [], "drained": True, "running": 0,
        "waited": 42}


@pytest.mark.parametrize("rc, out, err, msg", [
    (1, "", "Traceback\nkombu.exceptions.OperationalError: Error 111 connecting to redis:6379. Connection refused.\n",
     f"draining {NODE} in service worker failed (rc 1): Traceback / kombu.exceptions.OperationalError: Error 111 "
     "connecting to redis:6379. Connection refused."),
    (0, "", "", f"draining {NODE} in service worker printed no result: no output"),
    (0, json.dumps({k: v for k, v in RESULT.items() if k != "waited"}), "",
     f"draining {NODE} in service worker printed no result: " + json.dumps({k: v for k, v in RESULT.items()
                                                                           if k != "waited"}))])
def test_a_failed_or_silent_script_fails_the_module(rc, out, err, msg):
    assert celery_drain.outcome(rc, out, err, NODE, "worker") == {"failed": True, "rc": rc, "msg": msg}


ARGS = {"project_dir": "/srv/airflow", "compose_file": "/srv/airflow/compose.yml", "service": "worker",
        "node": NODE, "queues": ["default"], "grace_period": "180"}
BASE = ["/usr/bin/docker", "compose", "--project-directory", "/srv/airflow", "--file", "/srv/airflow/compose.yml"]


def answer(ps="worker\n", result=RESULT, rc=0):
    def reply(argv, data):
        return (0, ps, "") if "ps" in argv else (rc, json.dumps(result), "")
    return reply


def test_main_runs_the_script_in_the_worker_with_its_input_on_stdin(run_module):
    result, docker = run_module(celery_drain, ARGS, answer())
    assert result["changed"] is True and (result["drained"], result["waited"]) == (True, 42)
    [(argv, data)] = docker.calls
    assert argv == BASE + ["exec", "-T", "worker", "python", "-c", celery_drain_script.SCRIPT]
    assert json.loads(data) == {"node": NODE, "queues": ["default"], "grace_period": 180, "check": False}


def test_main_in_check_mode_says_whether_the_node_would_be_drained(run_module):
    result, docker = run_module(celery_drain, ARGS, answer(result=RESULT | {"cancelled": [], "waited": 0}), check=True)
    assert result["changed"] is True and json.loads(docker.calls[-1][1])["check"] is True
    result, _ = run_module(celery_drain, ARGS, answer(result=RESULT | {"consuming": []}), check=True)
    assert result["changed"] is False


@pytest.mark.parametrize("docker, ps", [("/usr/bin/docker", "redis\n"), (None, "worker\n")])
def test_main_in_check_mode_skips_a_worker_that_is_not_running(run_module, docker, ps):
    result, calls = run_module(celery_drain, ARGS, answer(ps=ps), docker=docker, check=True)
    assert result["changed"] is False and result["skipped"] is True and result["consuming"] == []
    assert not [argv for argv, _ in calls.calls if "exec" in argv]


def test_main_fails_on_a_failed_script_or_a_bad_value(run_module):
    result, _ = run_module(celery_drain, ARGS, answer(rc=1, result={}))
    assert result["failed"] is True and result["rc"] == 1
    result, docker = run_module(celery_drain, ARGS | {"grace_period": -5}, answer())
    assert result["failed"] is True and "got -5" in result["msg"] and docker.calls == []


def test_compose_argv_with_and_without_a_file():
    assert compose.compose_argv("docker", "/srv/a") == ["docker", "compose", "--project-directory", "/srv/a"]
    assert compose.compose_argv("docker", "/srv/a", "/srv/a/c.yml")[-2:] == ["--file", "/srv/a/c.yml"]
    assert compose.running_argv(["d"]) == ["d", "ps", "--status", "running", "--services"]


def test_exec_argv_passes_the_environment_sorted_and_refuses_a_bad_name():
    assert compose.exec_argv(["d"], "s", "print(1)", {"B": False, "A": 2}) == [
        "d", "exec", "-T", "-e", "A=2", "-e", "B=False", "s", "python", "-c", "print(1)"]
    for bad in ("", "A=B"):
        with pytest.raises(ValueError, match="is not valid"):
            compose.exec_argv(["d"], "s", "x", {bad: "1"})


@pytest.mark.parametrize("rc, out, running", [
    (0, "redis\nworker\n", True), (0, "redis\nworker-2\n", False), (1, "worker\n", False), (0, "", False)])
def test_a_service_runs_when_compose_ps_lists_it(rc, out, running):
    assert compose.is_running(rc, out, "worker") is running


def test_the_result_is_the_last_json_object_line():
    assert compose.last_json('{"a": 1}\n{"b": 2}\nnot json\n[1]\n{broken\n') == {"b": 2}
    assert compose.last_json("") is None and compose.last_json("[1, 2]\n") is None
    assert compose.tail("\n".join(map(str, range(9))) + "\n\n") == "4 / 5 / 6 / 7 / 8"
