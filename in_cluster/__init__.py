"""Programs that run inside the stack's containers, not in the Pulumi engine. Each is a script with its own entry point;
the component that runs it ships its text in a ConfigMap and runs it in the image named:

- schema_job.py, the schema Job's program; seed_model_cache.py, its first init container; schema_gate.py, its gate and
  the resume Job (components/open_webui.py; the Open WebUI image);
- ollama_pull.py, the model gate beside each Ollama pod (components/ollama.py; the puller image);
- migrate_install.py, the data-migration Job's program, an old install carried across: migrate_database.py,
  migrate_files.py and migrate_vectors.py in order, with what they share, migration_common.py and alembic_upgrade.py
  (components/data_migration.py; the Open WebUI image);
- alembic_revisions.py, a release's Alembic revisions read from its files, beside the gate and the migrators.

Standard library plus what their image holds; checked by `make test` (mypy, and tests against a real PostgreSQL).
"""

from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent
"""Where the components read the programs they ship."""
