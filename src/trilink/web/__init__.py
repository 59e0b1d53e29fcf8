"""The common operational picture (COP): each node's offline web map of what it holds.

Edge package (ARCHITECTURE §8): FastAPI pages and API over the node's store, login and
sessions, server-sent events, exports (``web.app`` lists which module serves what).
``create_cop_app(service)`` builds the app the node serves on its loopback COP port;
``create_user`` adds a login.
"""

from __future__ import annotations

from trilink.store.users import ROLES
from trilink.web.app import create_cop_app
from trilink.web.auth import create_user
from trilink.web.context import CopSettings

COP_PORTS = {"USA": 8000, "JPN": 8001, "KOR": 8002}

__all__ = ["COP_PORTS", "ROLES", "CopSettings", "create_cop_app", "create_user"]
