"""``python -m agentcdr``: the same as the ``agentcdr`` command."""

from agentcdr.cli import main

main()
