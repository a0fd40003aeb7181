"""The one XML text rule of agentcdr: ``&``, ``<`` and ``>`` as entities, and a carriage
return as ``&#13;``.

A parser normalises every line end in element content to LF (XML 1.0 §2.11), so a CR written
as itself never reaches the reader: ``CRLF`` in a disposition would come back as ``LF``.
Written as a character reference it survives, and the text round-trips exactly.
"""

from __future__ import annotations

from typing import Final

ESCAPED: Final = "&<>\r"  # the characters ``escape`` replaces


def escape(text: str) -> str:
    # str.replace returns the same object when there is nothing to replace: cheap on clean text.
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )
