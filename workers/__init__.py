"""The hub's arq worker: `arq workers.WorkerSettings` or `hub worker`.

`WorkerSettings` is built on first access (it reads the environment), so importing this
package for `build_worker` has no side effects.
"""

from typing import Any

from workers.settings import build_worker, worker_options

__all__ = ["WorkerSettings", "build_worker", "worker_options"]


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        from workers.settings import make_worker_settings_class

        cls = make_worker_settings_class()
        globals()["WorkerSettings"] = cls
        return cls
    raise AttributeError(name)
