"""The read-only VICIdial adapter: agent_cdr served straight from a VICIdial/GoAutoDial
database (``store``), its SQL (``sql``), its connections (``connection``) and logins with
VICIdial users (``logins``)."""
