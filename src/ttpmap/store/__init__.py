"""The analysis store: documents, analyses and query tables in SQLite (default) or PostgreSQL.

Open it with :func:`open_store` (migrated forward automatically); write with :func:`save_analysis`;
query with the functions in :mod:`ttpmap.store.query`.
"""

from ttpmap.store import workbench as _workbench  # noqa: F401  (registers the workbench tables)
from ttpmap.store.engine import Store, default_url, open_store
from ttpmap.store.write import RunKey, analysed, record_failure, save_analysis

__all__ = ["RunKey", "Store", "analysed", "default_url", "open_store", "record_failure", "save_analysis"]
