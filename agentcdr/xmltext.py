"""The one XML text rule of agentcdr: ``&``, ``<`` and ``>`` as entities, and a carriage
return as ``&#13;``.

A parser normalises every line end in element content to LF (XML 1.0 §2.11), so a CR written
as itself never reaches the reader: ``CRLF`` in a disposition would come back as ``LF``.
Written as a character reference it survives, and the text round-trips exactly.
"""

from __future__ import annotations

from typing import Final

# What ``escape`` replaces, in order (``&`` first); the database's rendering does the same
# in SQL (``store.sql.rendered``).
ENTITIES: Final = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))


def escape(text: str) -> str:
    # str.replace returns the same object when there is nothing to replace: cheap on clean text.
    for character, entity in ENTITIES:
        text = text.replace(character, entity)
    return text
