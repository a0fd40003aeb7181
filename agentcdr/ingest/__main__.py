"""``python -m agentcdr.ingest``: the reader process of a large import (``pipeline``)."""

from agentcdr.ingest.pipeline import child_main

if __name__ == "__main__":
    child_main()
