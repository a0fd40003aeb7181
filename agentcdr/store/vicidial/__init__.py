"""The read-only VICIdial adapter: agent_cdr served straight from a VICIdial/GoAutoDial
database (``store``), its SQL (``sql``), the rows of a report read in pages and converted
(``rows``), logins with VICIdial users (``logins``) and the EksBlowfish those logins need at
low costs (``eksblowfish``); connections come from ``agentcdr.store.mysql``, shared with
agentcdr's own MariaDB store."""
