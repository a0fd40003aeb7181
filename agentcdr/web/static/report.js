// The report page: posts the form to the agent_cdr API and renders rows with the API's own
// `headers` as columns. Credentials go in the POST body, never in a URL.
"use strict";
const API = "/goAPIv2/goReports/goAPI.php";
const form = document.getElementById("report");
const status = document.getElementById("status");

function body(responsetype) {
  const data = new URLSearchParams();
  data.set("goAction", "agent_cdr");
  data.set("responsetype", responsetype);
  for (const [key, value] of new FormData(form)) {
    if (String(value).trim() !== "") data.append(key, String(value).trim());
  }
  if (responsetype === "csv") data.delete("limit");
  return data;
}

function show(message, isError) {
  status.textContent = message;
  status.className = isError ? "error" : "";
}

function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text === null || text === undefined ? "" : String(text);
  return el;
}

async function load(event) {
  event.preventDefault();
  show("Loading…", false);
  const response = await fetch(API, { method: "POST", body: body("json") });
  const answer = await response.json();
  if (answer.result !== "success") {
    show(`Error ${answer.code}: ${answer.message}`, true);
    return;
  }
  const { rows, headers, meta } = answer.data;
  const head = document.querySelector("#rows thead");
  const tbody = document.querySelector("#rows tbody");
  head.replaceChildren(headers.reduce((tr, h) => { tr.append(cell("th", h.title)); return tr; },
    document.createElement("tr")));
  tbody.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    for (const h of headers) tr.append(cell("td", row[h.field]));
    return tr;
  }));
  const more = answer.data.next_cursor ? " (more rows: download the CSV for all)" : "";
  show(`${meta.row_count} calls, ${meta.from} to ${meta.to} (${meta.timezone})${more}`, false);
}

async function download() {
  show("Preparing CSV…", false);
  const response = await fetch(API, { method: "POST", body: body("csv") });
  if (!response.ok) {
    const answer = await response.json();
    show(`Error ${answer.code}: ${answer.message}`, true);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: "agent_cdr.csv" });
  link.click();
  URL.revokeObjectURL(url);
  show("CSV downloaded.", false);
}

form.addEventListener("submit", (event) => load(event).catch((e) => show(String(e), true)));
document.getElementById("csv").addEventListener("click", () => download().catch((e) => show(String(e), true)));
