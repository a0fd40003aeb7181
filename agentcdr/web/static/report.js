// The report page: sign-in, the filters (kept in the URL), the table filled page by page
// through limit/cursor as the user scrolls, and the exports. One query runs at a time: a new
// one aborts the one in flight, and a page that arrives for an older query is dropped.
import { ApiError, fetchReport, submitExport } from "./api.js";
import { apiParams, fromForm, fromQuery, knownZone, showRange, toForm, toQuery } from "./filters.js";
import { Grid } from "./grid.js";

const PAGE_ROWS = 200;
// The table keeps at most this many rows in memory (about 50 pages); past them the page
// points to the exports, which stream any range.
const MAX_ROWS = 10_000;

const $ = (id) => document.getElementById(id);
const signin = $("signin");
const filtersForm = $("filters");
const status = $("status");
const exportButtons = [$("export-csv"), $("export-ndjson")];

let credentials = null; // {user, password}: in this tab's memory only
let serverZone = Intl.DateTimeFormat().resolvedOptions().timeZone; // replaced at sign-in
let filters = fromQuery(location.search);
let query = null; // the query shown: {params, controller, cursor, rows, loading, done}

const grid = new Grid($("grid"), {
  onOrder: () => {
    filtersForm.elements.order.value = filters.order === "asc" ? "desc" : "asc";
    apply();
  },
  onNearEnd: () => nextPage(),
});

function say(text, kind = "") {
  status.textContent = text;
  status.className = kind;
}

/** What went wrong, and what to do about it. */
function advice(error) {
  switch (error.code) {
    case "10000": return "Sign in again: the user name or password was not accepted.";
    case "10001": return `${error.message}. Remove the tenants your user may not see.`;
    case "40001":
    case "41004": return `${error.message}. Correct that filter and show the report again.`;
    case "10429": return `${error.message}. Wait ${error.retryAfter ?? "a few"} seconds, then try again.`;
    case "10007": return `${error.message}. Try again later.`;
    case "network": return "The server could not be reached: check the connection and try again.";
    default: return error.message;
  }
}

function setBusy(busy) {
  $("grid").setAttribute("aria-busy", String(busy));
  $("show").disabled = busy;
  const exportable = !busy && query !== null && query.rows > 0;
  for (const button of exportButtons) button.disabled = !exportable;
}

/** Runs the report for the filters in the form: the first page now, the others on scroll. */
async function apply() {
  filters = { ...fromForm(filtersForm), hide: filters.hide };
  history.replaceState(null, "", `${location.pathname}${toQuery(filters)}`);
  query?.controller.abort();
  query = {
    params: apiParams(filters, knownZone(filters.tz, serverZone)),
    controller: new AbortController(),
    cursor: null,
    rows: 0,
    loading: false,
    done: false,
  };
  grid.setPlaceholder("");
  await load(query);
}

function nextPage() {
  if (query && !query.loading && !query.done) load(query);
}

async function load(q) {
  const first = q.cursor === null;
  q.loading = true;
  setBusy(true);
  say(first ? "Loading…" : `${q.rows.toLocaleString()} calls shown, loading more…`, "busy");
  try {
    const data = await fetchReport(credentials, { ...q.params, limit: PAGE_ROWS, cursor: q.cursor },
      q.controller.signal);
    if (q !== query) return; // a newer query took over while this page was on its way
    if (first) {
      await grid.show(data.headers, data.rows, { order: filters.order, hidden: filters.hide });
      listColumns();
    } else {
      await grid.append(data.rows);
    }
    q.rows += data.rows.length;
    q.cursor = data.next_cursor ?? null;
    q.done = q.cursor === null || q.rows >= MAX_ROWS;
    reportDone(q, data.meta);
  } catch (error) {
    if (error.name === "AbortError" || q !== query) return;
    q.done = true;
    await fail(error);
  } finally {
    if (q === query) {
      q.loading = false;
      setBusy(false);
    }
  }
  if (q === query && !q.done && grid.nearEnd()) nextPage();
}

function reportDone(q, meta) {
  const range = `${meta.from} to ${meta.to} (${meta.timezone})`;
  // The total count of the range comes here from the summary API when it is served.
  if (q.rows === 0) {
    const empty = `No calls match these filters from ${range}. Widen the dates or remove filters.`;
    grid.setPlaceholder(empty);
    say(empty, "empty");
  } else if (q.cursor === null) {
    say(`${q.rows.toLocaleString()} calls, ${range}.`);
  } else if (q.done) {
    say(`The first ${q.rows.toLocaleString()} calls, ${range}, are shown: narrow the filters, or export the whole range.`);
  } else {
    say(`${q.rows.toLocaleString()} calls shown, ${range}; scroll for more.`);
  }
}

async function fail(error) {
  if (!(error instanceof ApiError)) throw error;
  if (error.code === "10000") {
    signOut(advice(error));
    return;
  }
  const message = advice(error);
  query.rows = 0; // nothing shown, nothing to export
  await grid.clear(message);
  say(message, "error");
}

/** The column checkboxes, from the columns the API sent. */
function listColumns() {
  const list = $("column-list");
  list.replaceChildren(...grid.columns().map(([field, title]) => {
    const box = Object.assign(document.createElement("input"), {
      type: "checkbox", name: field, checked: !filters.hide.includes(field),
    });
    const label = document.createElement("label");
    label.append(box, ` ${title}`);
    return label;
  }));
}

$("column-list").addEventListener("change", (event) => {
  const { name, checked } = event.target;
  filters.hide = checked ? filters.hide.filter((f) => f !== name) : [...filters.hide, name];
  grid.setHidden(filters.hide);
  history.replaceState(null, "", `${location.pathname}${toQuery(filters)}`);
});

function exportReport(event) {
  submitExport(credentials, query.params, event.currentTarget.dataset.format);
}

// -- sign-in -------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  const candidate = { user: form.elements.goUser.value.trim(), password: form.elements.goPass.value };
  button.disabled = true;
  $("signin-status").textContent = "Signing in…";
  try {
    // One row of the default range: checks the credentials and tells the report's zone.
    const data = await fetchReport(candidate, { limit: 1 });
    serverZone = data.meta.timezone;
  } catch (error) {
    $("signin-status").textContent = error instanceof ApiError ? advice(error) : String(error);
    return;
  } finally {
    button.disabled = false;
  }
  credentials = candidate;
  form.elements.goPass.value = "";
  $("signin-status").textContent = "";
  signin.hidden = true;
  $("report").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `Signed in as ${credentials.user}`;
  filtersForm.elements.tz.placeholder = `${serverZone} (the server's)`;
  toForm(filtersForm, filters, knownZone(filters.tz, serverZone));
  await apply();
}

function signOut(message = "") {
  query?.controller.abort();
  query = null;
  credentials = null;
  grid.clear();
  say("");
  $("report").hidden = true;
  $("who").hidden = true;
  signin.hidden = false;
  $("signin-status").textContent = message;
  signin.elements.goPass.focus();
}

// -- wiring --------------------------------------------------------------------------------

signin.addEventListener("submit", signIn);
$("signout").addEventListener("click", () => signOut());
filtersForm.addEventListener("submit", (event) => {
  event.preventDefault();
  apply();
});
filtersForm.addEventListener("change", (event) => {
  if (event.target.closest("#columns")) return;
  const { elements } = filtersForm;
  if (event.target === elements.fromDate || event.target === elements.toDate) elements.preset.value = "custom";
  showRange(filtersForm, elements.preset.value, knownZone(elements.tz.value, serverZone));
  apply();
});
for (const button of exportButtons) button.addEventListener("click", exportReport);
$("zones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((zone) => new Option(zone)));
setBusy(false);
signin.querySelector("button").disabled = false; // a form without this script must not submit
