"""Refuse to run from a `cqrs` package whose files are mixed with python-cqrs's.

python-cqrs installs the same top-level package, `cqrs`. Installed after it, this
package overwrites the files both have and leaves python-cqrs's others beside them;
uninstalling either then breaks the other. (Installed the other way round, python-cqrs's
`__init__` runs and this check never does: the README says to uninstall it first.)
"""

import os

__all__ = ("refuse_mixed_install",)

# A module python-cqrs has and this package never will. (os.path, not pathlib: pathlib
# is not imported at this point and would add to the import time.)
_MARKER = os.path.join(os.path.dirname(__file__), "generic_utils.py")  # noqa: PTH118, PTH120


def refuse_mixed_install() -> None:
    """Raise `ImportError` if python-cqrs's files sit beside this package's."""
    if not os.path.exists(_MARKER):  # noqa: PTH110
        return
    msg = (
        "python-cqrs and cqrs-typed are both installed in this environment, and both "
        "install the `cqrs` package: their files are mixed. Uninstall both, then "
        "install cqrs-typed alone: pip uninstall -y python-cqrs cqrs-typed, then "
        "pip install cqrs-typed"
    )
    raise ImportError(msg)
