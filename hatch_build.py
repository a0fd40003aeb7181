"""The wheel's build hook: the report page's libraries, built from package-lock.json.

``agentcdr/web/static/vendor/`` is ignored by git and so missing from a fresh checkout and
from the sdist (which carries package.json, package-lock.json and scripts/build-page.mjs
instead). Building a wheel runs ``npm ci`` (the lock file's integrity hashes checked) and the
copy script when the files are missing or older than the lock file, and adds them to the
wheel. Editable installs are left alone: ``make`` builds the files in the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDOR = "agentcdr/web/static/vendor"


class PageBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        manifest = root / VENDOR / "manifest.json"
        lock = root / "package-lock.json"
        if not manifest.exists() or manifest.stat().st_mtime < lock.stat().st_mtime:
            build_page(root)
        build_data["artifacts"].append(f"/{VENDOR}/")


def build_page(root: Path) -> None:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise RuntimeError(
            "building agentcdr's wheel needs Node.js and npm for the report page's "
            "libraries (Debian: apt-get install nodejs npm)"
        )
    # Fixed commands of the project's own build, no outside input.
    npm_ci = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(npm_ci, cwd=root, check=True)  # noqa: S603
    subprocess.run([node, "scripts/build-page.mjs"], cwd=root, check=True)  # noqa: S603
