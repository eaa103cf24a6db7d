"""The one typed reader of the stack's config (components/stack_config.py): every key of the schema, typed as it
declares, the same from the engine and from the files."""

from dataclasses import fields

import pulumi
import pytest

from components.stack_config import ConfigError, StackConfig, config_key, config_string, engine_config, project
from offline_plan.mock_engine import run_program, stack_config
from stack_files import temporary_stack

KEYS = [config_key(field.name) for field in fields(StackConfig)]


def test_every_key_of_the_schema_is_a_typed_field_and_nothing_else():
    schema = project()["config"]
    assert sorted(KEYS) == sorted(schema)
    kinds = {"string": str, "integer": int, "boolean": bool, "array": tuple}
    prod = StackConfig.of_stack("prod")
    for key, declared in schema.items():
        assert isinstance(prod.value(key), kinds[declared["type"]]), key
    assert config_key("postgres_restore_point_in_time") == "postgresRestorePointInTime"


def test_the_files_read_as_the_engine_hands_them_to_the_program():
    """of_stack (the plan's mocks, e2e, the drill) and read (the program under the engine) agree on every value."""
    config, _ = stack_config("prod")
    from_engine = StackConfig.parse(lambda key: config.get(f"openwebui-aks:{key}"), "openwebui-aks")
    assert from_engine == StackConfig.of_stack("prod")
    assert from_engine.min_replicas == 3 and from_engine.protect is True
    assert from_engine.postgres_extensions == ("vector", "uuid-ossp")
    assert engine_config("dev")["openwebui-aks:acmeIssuer"] == "staging"  # the stack's file over the default


def test_the_program_reads_its_config_through_the_typed_reader(dev_run):
    assert dev_run.outputs["openWebUI"]["maxReplicas"] == StackConfig.of_stack("dev").max_replicas


@pytest.mark.parametrize("overrides, message", [
    ({"protect": "yes"}, "protect: Configuration 'openwebui-aks:protect' value 'yes' is not a valid 'bool'"),
    ({"minReplicas": "2.5"}, "minReplicas: Configuration 'openwebui-aks:minReplicas' value '2.5' is not a valid 'int'"),
    ({"ollamaModels": "llama3.2:3b"}, "ollamaModels: must be a list of strings, e.g. `pulumi config set --path "
                                      "'ollamaModels[0]' value`."),
    ({"ollamaModels": [1, 2]}, "ollamaModels: must be a list of strings"),
    ({"migrateAllowSqlite": True}, "migrateAllowSqlite: retired."),
])
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(overrides, message):
    with temporary_stack(overrides) as stack:
        with pytest.raises(ConfigError, match="invalid stack configuration") as refused:
            StackConfig.of_stack(stack)
        assert message in str(refused.value)
        with pytest.raises(ConfigError) as in_program:
            run_program(stack)
        assert message in str(in_program.value)


def test_a_missing_key_names_where_to_declare_it():
    values = engine_config("dev")
    with pytest.raises(ConfigError) as refused:
        StackConfig.parse(lambda key: None if key not in KEYS or key == "location" else config_string(
            values[f"openwebui-aks:{key}"]),
                          "openwebui-aks")
    assert "location: missing. Declare it in Pulumi.yaml's config schema or `pulumi config set location`." in str(
        refused.value)
    assert isinstance(refused.value, pulumi.RunError)  # printed by Pulumi without a stack trace
