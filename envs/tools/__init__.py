"""Tool use: ``agentgym/ToolUse-v0``, questions answered by calling real, fenced tools.

* :mod:`.world`: the generated world (a shop's SQLite database, an encyclopedia corpus);
* :mod:`.calculator`, :mod:`.sqltool`, :mod:`.search`, :mod:`.dates`, :mod:`.units`: the tools;
* :mod:`.limits`: per-call limits and the error type whose messages reach the agent;
* :mod:`.runtime`: JSON-schema tools, argument checks, the fence around every call;
* :mod:`.toolset`: the six built-in tools; :mod:`.calls`: reading a call from an action;
* :mod:`.tasks`: the task families, their oracle plans, splits and answer checks;
* :mod:`.env`: the Task with per-call rewards and the registered env.
"""

from __future__ import annotations
