"""The preflight's rules of connections, variables and pools (role
airflow_connections): their bad cases (BAD, run with every other rule's by
test_preflight_rules.py: each must name its setting, and only it) and good
values that must pass. No secret value is ever shown."""

import pytest

from conftest import MASTER, SECRET, problems

CONN = {"conn_id": "warehouse", "conn_type": "postgres"}


def _set(setting, value):
    return lambda m: m.set(setting, value)


def _with(**settings):
    def change(m):
        for setting, value in settings.items():
            m.set(f"airflow_connections_{setting}", value)
    return change


# (id, rule, phase, change, host, setting, text in the message)
BAD = [
    ("conn-list-not-a-list", "connections", "settings", _with(list="warehouse"), MASTER, "airflow_connections_list",
     "a list of {conn_id, conn_type} mappings"),
    ("conn-id-chars", "connections", "settings", _with(list=[CONN | {"conn_id": "ware house"}], passwords={},
                                                       secret_extras={}),
     MASTER, "airflow_connections_list[0].conn_id", "letters, digits and _ . -"),
    ("conn-id-too-long", "connections", "settings", _with(list=[CONN | {"conn_id": "w" * 201}], passwords={},
                                                          secret_extras={}),
     MASTER, "airflow_connections_list[0].conn_id", "at most 200 characters"),
    ("conn-twice", "connections", "settings", _with(list=[CONN, CONN]), MASTER, "airflow_connections_list[1].conn_id",
     "listed twice"),
    ("conn-is-the-aws-one", "connections", "settings", _with(list=[CONN, CONN | {"conn_id": "aws_default"}]),
     MASTER, "airflow_connections_list[1].conn_id", "the built-in AWS connection"),
    ("aws-conn-id-chars", "connections", "settings", _with(aws_conn_id="aws default"), MASTER,
     "airflow_connections_aws_conn_id", "a connection id may only hold"),
    ("conn-no-type", "connections", "settings", _with(list=[{"conn_id": "warehouse"}]), MASTER,
     "airflow_connections_list[0].conn_type", "needs a type"),
    ("conn-port", "connections", "settings", _with(list=[CONN | {"port": 70000}]), MASTER,
     "airflow_connections_list[0].port", "a number from 1 to 65535"),
    ("conn-extra-a-string", "connections", "settings", _with(list=[CONN | {"extra": '{"a": 1}'}], secret_extras={}),
     MASTER, "airflow_connections_list[0].extra", "a mapping of field to value"),
    ("password-typo", "connection_secrets", "settings", _with(passwords={"warehuose": SECRET}), MASTER,
     "airflow_connections_passwords.warehuose", "names no connection of airflow_connections_list (warehouse)"),
    ("password-of-the-aws-one", "connection_secrets", "settings",
     _with(passwords={"warehouse": SECRET, "aws_default": SECRET}), MASTER, "airflow_connections_passwords.aws_default",
     "vault_airflow_s3_secret_access_key"),
    ("secret-extra-typo", "connection_secrets", "settings", _with(secret_extras={"wh": {"token": SECRET}}), MASTER,
     "airflow_connections_secret_extras.wh", "rename the key in vault_airflow_connection_extras"),
    ("secret-extra-not-a-mapping", "connection_secrets", "settings", _with(secret_extras={"warehouse": SECRET}), MASTER,
     "airflow_connections_secret_extras.warehouse", "must be a mapping of field to value"),
    ("secret-extra-shown", "connection_secrets", "settings", _with(secret_extras={"warehouse": {"region": SECRET}}),
     MASTER, "airflow_connections_secret_extras.warehouse.region", "Airflow shows the value in the UI"),
    ("secret-extra-also-plain", "connection_secrets", "settings",
     _with(list=[CONN | {"extra": {"api_token": "x"}}], secret_extras={"warehouse": {"api_token": SECRET}}), MASTER,
     "airflow_connections_secret_extras.warehouse.api_token", "a plain extra field of 'warehouse' too"),
    ("passwords-not-a-mapping", "connection_secrets", "settings", _with(passwords=[SECRET]), MASTER,
     "airflow_connections_passwords", "a mapping by conn_id"),
    ("variables-not-a-mapping", "variables", "settings", _with(variables=["a"]), MASTER,
     "airflow_connections_variables", "a mapping of key to value"),
    ("variable-key-chars", "variables", "settings", _with(variables={"api url": "x"}), MASTER,
     "airflow_connections_variables.api url", "a variable key may only hold"),
    ("variable-no-value", "variables", "settings", _with(variables={"api_url": None}), MASTER,
     "airflow_connections_variables.api_url", "has no value"),
    ("secret-variable-also-plain", "variables", "settings",
     _with(variables={"partner_api_token": "x"}), MASTER, "airflow_connections_secret_variables.partner_api_token",
     "a plain variable too"),
    ("secret-variable-shown", "variables", "settings", _with(secret_variables={"partner_key": SECRET}), MASTER,
     "airflow_connections_secret_variables.partner_key", "Airflow shows the value in the UI and REST API"),
    ("secret-variable-no-value", "variables", "settings", _with(secret_variables={"db_password": None}), MASTER,
     "airflow_connections_secret_variables.db_password", "has no value"),
    ("pools-not-a-list", "pools", "settings", _with(pools={"name": "p"}), MASTER, "airflow_connections_pools",
     "a list of {name, slots} mappings"),
    ("pool-name-chars", "pools", "settings", _with(pools=[{"name": "etl/db", "slots": 2}]), MASTER,
     "airflow_connections_pools[0].name", "a pool name may only hold"),
    ("pool-twice", "pools", "settings", _with(pools=[{"name": "p", "slots": 2}, {"name": "p", "slots": 3}]), MASTER,
     "airflow_connections_pools[1].name", "listed twice"),
    ("pool-slots-below-minus-one", "pools", "settings", _with(pools=[{"name": "p", "slots": -2}]), MASTER,
     "airflow_connections_pools[0].slots", "-1 (unlimited), 0 or more"),
    ("pool-slots-not-a-number", "pools", "settings", _with(pools=[{"name": "p", "slots": "many"}]), MASTER,
     "airflow_connections_pools[0].slots", "a whole number"),
    ("pool-no-slots", "pools", "settings", _with(pools=[{"name": "p"}]), MASTER, "airflow_connections_pools[0].slots",
     "a whole number"),
]

NO_SECRETS = {"passwords": {}, "secret_extras": {}}
GOOD_VALUES = [
    {"list": [CONN | {"conn_id": "a.b-c_1", "port": "5432", "extra": {}}, {"conn_id": "x", "conn_type": "aws"}]}
    | NO_SECRETS,
    {"list": [], **NO_SECRETS}, NO_SECRETS, {"variables": {}, "secret_variables": {}},
    {"variables": {"n": 5, "flag": False, "j": [1, 2], "AWS_region.v2-x": "eu"}}, {"pools": []},
    {"pools": [{"name": "unlimited", "slots": -1}, {"name": "closed", "slots": 0, "include_deferred": True}]},
    {"secret_variables": {"DB_PASSWORD": "x", "slack_webhook_secret": "y", "Private_Key_pem": "z"}},
    {"secret_extras": {"warehouse": {"client_secret": "a", "keyfile_dict": {"k": 1}}}},
    {"aws_enabled": False}, {"aws_conn_id": "s3_store"},
]


@pytest.mark.parametrize("settings", GOOD_VALUES, ids=[str(v) for v in GOOD_VALUES])
def test_a_good_value_passes(made, settings):
    _with(**settings)(made)
    assert [p.render() for p in problems(made, "settings")] == []


def test_the_aws_conn_id_may_be_listed_when_the_built_in_connection_is_off(made):
    made.set("airflow_connections_aws_enabled", False)
    made.set("airflow_connections_list", [CONN, CONN | {"conn_id": "aws_default", "conn_type": "aws"}])
    made.set("airflow_connections_passwords", {"aws_default": SECRET})
    assert [p.render() for p in problems(made, "settings")] == []


def test_a_word_added_to_airflows_sensitive_names_hides_a_secret_variable(made):
    made.set("airflow_connections_secret_variables", {"partner_key": SECRET})
    made.set("airflow_stack_extra_env", {"AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "partner_key, other"})
    assert [p.render() for p in problems(made, "settings")] == []


def test_no_secret_value_is_shown(made):
    made.set("airflow_connections_passwords", {"warehuose": "pw-value-0123456789"})
    made.set("airflow_connections_secret_extras", {"warehouse": {"region": "extra-value-0123456789"}})
    made.set("airflow_connections_secret_variables", {"partner_key": "var-value-0123456789"})
    text = "\n".join(p.render() for p in problems(made, "settings", only=None))
    assert "value-0123456789" not in text and text.count("(a secret, not shown)") == 3, text


def test_a_message_names_the_host_the_setting_the_value_and_the_fix(made):
    made.set("airflow_connections_pools", [{"name": "etl", "slots": -5}])
    [problem] = problems(made, "settings", only="pools")
    assert problem.render() == ("On m1: airflow_connections_pools[0].slots is -5: the slots of pool 'etl' must be a "
                                "whole number: -1 (unlimited), 0 or more.")
