"""The names the program gives its main resources: Pulumi names, and the Kubernetes names derived from them, which the
capacity family, the plan, `make verify` and `make e2e` look resources up by."""

APP_NAME = "open-webui"
POSTGRES_NAME = "postgres"
OLLAMA_NAME = "ollama"
DATA_MIGRATION_NAME = "open-webui-data-migration"
"""The data-migration Job: an old Open WebUI's data carried across (components/data_migration.py)."""
DATA_CLAIM_NAME = "open-webui-data"
