"""``python -m agentcdr.ingest FD``: the reader process of a large import (``pipeline``)."""

import sys

from agentcdr.ingest.pipeline import child_main

if __name__ == "__main__":
    child_main(int(sys.argv[1]))
