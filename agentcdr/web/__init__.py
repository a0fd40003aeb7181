"""The HTTP side: the ASGI app (``app``), the goAPI endpoint (``api``), the access log and the
report page's assets."""
