"""datalake.airflow.airflow_objects: the script's input (payload), the
outcome of the container call, and the module's main() against a stand-in
for docker (the plan and the script itself: test_airflow_objects.py)."""

import json

import pytest

from ansible_collections.datalake.airflow.plugins.module_utils import airflow_objects_script
from ansible_collections.datalake.airflow.plugins.modules import airflow_objects

SECRETS = {"password": "s3-secret-key-0123", "token": "api-token-4567", "variable": "variable-secret-89ab"}

def test_the_payload_merges_the_secrets_and_drops_unset_options():
    sent = json.loads(airflow_objects.payload(
        [{"conn_id": "api", "conn_type": "http", "host": "", "port": None, "login": None, "extra": {"a": 1}}],
        {"api": "pw"}, {"api": {"api_token": "t"}}, {"n": 5, "j": {"k": [1]}, "s": "text"}, {"api_secret": "v"},
        [{"name": "p", "slots": -1, "description": None, "include_deferred": None}], True))
    assert sent == {"connections": [{"conn_id": "api", "conn_type": "http", "extra": {"a": 1, "api_token": "t"},
                                     "password": "pw"}],
                    "variables": {"n": "5", "j": '{\n  "k": [\n    1\n  ]\n}', "s": "text", "api_secret": "v"},
                    "pools": [{"name": "p", "slots": -1, "include_deferred": False}], "check": True}


CONN = [{"conn_id": "api", "conn_type": "http"}]


@pytest.mark.parametrize("args, message", [
    ({"connections": CONN * 2}, r"^connection\(s\) api listed twice$"),
    ({"passwords": {"apj": "x"}}, r"^passwords for connection\(s\) apj, which connections does not list$"),
    ({"secret_extras": {"apj": {"t": 1}}}, r"^secret_extras for connection\(s\) apj, which connections"),
    ({"secret_extras": {"api": "token"}}, r"^the secret extras of connection api are not a mapping"),
    ({"connections": [CONN[0] | {"extra": {"t": 1}}], "secret_extras": {"api": {"t": 2}}},
     r"^connection api has extra field\(s\) t both plain and secret$"),
    ({"variables": {"k": "a"}, "secret_variables": {"k": "b"}}, r"^variable\(s\) k given both as plain and as secret"),
    ({"variables": {"k": None}}, r"^variable\(s\) k have no value$"),
    ({"pools": [{"name": "p", "slots": 1}] * 2}, r"^pool\(s\) p listed twice$"),
    ({"pools": [{"name": "p", "slots": -2}]}, r"^pool\(s\) p have fewer than -1 slots"),
])
def test_the_payload_refuses_what_the_script_could_not_make(args, message):
    given = {"connections": CONN, "passwords": {}, "secret_extras": {}, "variables": {}, "secret_variables": {},
             "pools": []} | args
    with pytest.raises(ValueError, match=message):
        airflow_objects.payload(check=False, **given)


@pytest.mark.parametrize("rc, out, err, result", [
    (0, 'warning\n{"changes": ["pool p created"]}\n', "", {"changed": True, "changes": ["pool p created"]}),
    (0, '{"changes": []}', "noise", {"changed": False, "changes": []}),
    (1, "", "Traceback\nSystemExit: could not write pool p: ValueError\n", {"failed": True, "rc": 1, "msg":
     "syncing the connections, variables and pools in service api-server failed (rc 1): Traceback / "
     "SystemExit: could not write pool p: ValueError"}),
    (0, "nothing useful\n", "", {"failed": True, "rc": 0, "msg":
     "syncing the connections, variables and pools in service api-server printed no result: nothing useful"}),
])
def test_the_outcome_of_the_container_call(rc, out, err, result):
    assert airflow_objects.outcome(rc, out, err, "api-server") == result


ARGS = {"project_dir": "/srv/airflow", "compose_file": "/srv/airflow/compose.yml",
        "connections": [{"conn_id": "aws_default", "conn_type": "aws", "login": "AKEXAMPLE"},
                        {"conn_id": "api", "conn_type": "http", "host": "api.invalid", "port": 443}],
        "passwords": {"aws_default": SECRETS["password"]}, "secret_extras": {"api": {"api_token": SECRETS["token"]}},
        "variables": {"api_ping_url": "http://api.invalid/"}, "secret_variables": {"api_secret": SECRETS["variable"]},
        "pools": [{"name": "warehouse", "slots": 4}]}
BASE = ["/usr/bin/docker", "compose", "--project-directory", "/srv/airflow", "--file", "/srv/airflow/compose.yml"]


def answer(ps="api-server\nredis\n", rc=0, out='{"changes": ["pool warehouse created"]}', err=""):
    def reply(argv, data):
        return (0, ps, "") if "ps" in argv else (rc, out, err)
    return reply


def test_main_runs_the_script_in_the_service_with_the_secrets_on_stdin_only(run_module):
    result, docker = run_module(airflow_objects, ARGS, answer())
    assert result["changed"] is True and result["changes"] == ["pool warehouse created"]
    [(argv, data)] = docker.calls
    assert argv == BASE + ["exec", "-T", "api-server", "python", "-c", airflow_objects_script.SCRIPT]
    sent = json.loads(data)
    assert sent["connections"][0]["password"] == SECRETS["password"]
    assert sent["connections"][1]["extra"] == {"api_token": SECRETS["token"]}
    assert sent["variables"]["api_secret"] == SECRETS["variable"] and sent["check"] is False
    assert not any(s in " ".join(argv) or s in json.dumps(result) for s in SECRETS.values())


def test_main_in_check_mode_asks_the_script_only_against_a_running_service(run_module):
    result, docker = run_module(airflow_objects, ARGS, answer(), check=True)
    assert result["changed"] is True and "skipped" not in result
    (ps, _), (_, data) = docker.calls
    assert ps == BASE + ["ps", "--status", "running", "--services"] and json.loads(data)["check"] is True


@pytest.mark.parametrize("docker, ps", [("/usr/bin/docker", "redis\n"), (None, "api-server\n")])
def test_main_in_check_mode_skips_without_a_running_service(run_module, docker, ps):
    result, calls = run_module(airflow_objects, ARGS, answer(ps=ps), docker=docker, check=True)
    assert result["changed"] is False and result["skipped"] is True and result["changes"] == []
    assert "check mode" in result["msg"] and not [argv for argv, _ in calls.calls if "exec" in argv]


def test_main_fails_with_the_end_of_the_error_and_never_a_secret(run_module):
    err = "Traceback\n" + "x\n" * 10 + f"SystemExit: bad {SECRETS['variable']} {SECRETS['token']}\n"
    result, _ = run_module(airflow_objects, ARGS, answer(rc=1, out="", err=err))
    assert result["failed"] is True and result["rc"] == 1 and "changes" not in result
    assert result["msg"].startswith("syncing the connections, variables and pools in service api-server failed")
    assert not any(s in json.dumps(result) for s in SECRETS.values())


@pytest.mark.parametrize("args, message", [
    (ARGS | {"passwords": {"aws_defualt": "x"}}, "passwords for connection(s) aws_defualt"),
    (ARGS | {"pools": [{"name": "p"}]}, "missing required arguments: slots"),
    ({k: v for k, v in ARGS.items() if k != "variables"}, "missing required arguments: variables")])
def test_main_refuses_bad_arguments_before_any_docker_call(run_module, args, message):
    result, docker = run_module(airflow_objects, args, answer())
    assert result["failed"] is True and message in result["msg"] and docker.calls == []
