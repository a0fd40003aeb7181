// Copies the report page's and the API docs' libraries from node_modules (installed by `npm ci` from
// package-lock.json, integrity-checked) into agentcdr/web/static/vendor/, which git ignores.
// No bundler: the libraries ship ready-made ES modules and CSS, and the page's own modules
// import them as they are. manifest.json, written last, records what was copied; `make` and
// the wheel's build hook rebuild when it is missing or older than package-lock.json.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const top = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(top, "node_modules");
const out = join(top, "agentcdr", "web", "static", "vendor");

// package -> [file in the package, name in vendor/]
const FILES = {
  "tabulator-tables": [
    ["dist/js/tabulator_esm.min.js", "tabulator.js"],
    ["dist/css/tabulator.min.css", "tabulator.css"],
    ["LICENSE", "tabulator.LICENSE.txt"],
  ],
  uplot: [
    ["dist/uPlot.esm.js", "uplot.js"],
    ["dist/uPlot.min.css", "uplot.css"],
    ["LICENSE", "uplot.LICENSE.txt"],
  ],
  // The interactive API docs at /docs (a classic script: it defines window.SwaggerUIBundle).
  "swagger-ui-dist": [
    ["swagger-ui-bundle.js", "swagger-ui.js"],
    ["swagger-ui.css", "swagger-ui.css"],
    ["LICENSE", "swagger-ui.LICENSE.txt"],
    ["NOTICE", "swagger-ui.NOTICE.txt"],
  ],
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const manifest = {};
for (const [name, files] of Object.entries(FILES)) {
  const { version } = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
  for (const [from, to] of files) {
    const source = join(modules, name, from);
    if (to.endsWith(".js")) {
      // The source maps are not copied: without this line a browser's developer tools
      // would ask for them and log a 404.
      const text = readFileSync(source, "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
      writeFileSync(join(out, to), text);
    } else {
      copyFileSync(source, join(out, to));
    }
  }
  manifest[name] = { version, files: files.map(([, to]) => to) };
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`build-page: ${Object.keys(manifest).join(", ")} -> ${out}`);
