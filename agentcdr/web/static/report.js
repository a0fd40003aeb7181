// The report page: sign-in, the filters (kept in the URL), the table filled page by page
// through limit/cursor as the user scrolls, the summary panel, the pick-lists' choices and
// the exports. One query runs at a time: a new one aborts the one in flight (its pages and
// its summaries), and an answer that arrives for an older query is dropped.
import { activity, ApiError, dataOf, fetchReport, fetchSummary, submitExport } from "./api.js";
import {
  apiParams, fromForm, fromQuery, knownZone, LISTS, rangeOf, showRange, toForm, toQuery, unfiltered,
} from "./filters.js";
import { Grid } from "./grid.js";
import { Panel } from "./panel.js";
import { Picker } from "./picklist.js";
import { choices, count, number } from "./summary.js";

const PAGE_ROWS = 200;
// The table keeps at most this many rows in memory (about 50 pages); past them the page
// points to the exports, which stream any range.
const MAX_ROWS = 10_000;
const XLSX_ROWS = 1_048_575; // an Excel sheet's rows under its header row
// The pick-lists' choices: summaries of the range alone, grouped by at most two keys each.
// The tenant filter matches the rows' portfolio.
const CHOICES = [["user", "disposition"], ["campaign_name", "profile"], ["portfolio"]];
const KEY_OF = { user: "user", campaign_name: "campaign_name", disposition: "disposition", tenant: "portfolio", profile: "profile" };

const $ = (id) => document.getElementById(id);
const signin = $("signin");
const filtersForm = $("filters");
const status = $("status");
const exportButtons = [$("export-csv"), $("export-ndjson"), $("export-xlsx")];

let credentials = null; // {user, password}: in this tab's memory only
let serverZone = Intl.DateTimeFormat().resolvedOptions().timeZone; // replaced at sign-in
let filters = fromQuery(location.search);
let query = null; // the query shown: {key, params, controller, cursor, rows, loading, done, failed, meta, total, step}
let offered = { range: null, controller: null }; // the range whose choices the pick-lists offer
let exporting = false;

const pickers = Object.fromEntries(LISTS.map((name) => [name, new Picker($(`f-${name}`), name)]));

const grid = new Grid($("grid"), {
  onOrder: () => {
    filtersForm.elements.order.value = filters.order === "asc" ? "desc" : "asc";
    apply();
  },
  onNearEnd: () => nextPage(),
});

const panel = new Panel($("panel"), {
  onAgent: (name) => {
    pickers.user.choose([name]);
    apply();
    $("grid").querySelector(".tabulator-tableholder")?.focus();
  },
  onStep: (step) => {
    filters.per = step;
    remember();
    if (query && !query.failed) timeline(query);
  },
});

function say(text, kind = "") {
  status.textContent = text;
  status.className = kind;
}

function remember() {
  history.replaceState(null, "", `${location.pathname}${toQuery(filters)}`);
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
  if (query?.total > XLSX_ROWS) $("export-xlsx").disabled = true;
}

/** A line under the export buttons: what an export does, or why it cannot. */
function note(text, kind = "") {
  const element = $("export-note");
  element.textContent = text;
  element.className = kind;
  element.hidden = text === "";
}

/** Runs the report for the filters in the form: the first page now, the others on scroll,
 *  then the summaries. */
async function apply() {
  filters = { ...fromForm(filtersForm), hide: filters.hide, per: filters.per };
  remember();
  const params = apiParams(filters, knownZone(filters.tz, serverZone));
  const key = JSON.stringify(params);
  if (query?.key === key && query.loading && query.cursor === null) return; // already on its way
  query?.controller.abort();
  const q = {
    key, params, controller: new AbortController(), cursor: null, rows: 0, loading: false, done: false,
    failed: false, meta: null, total: null, step: null,
  };
  query = q;
  exporting = false;
  note("");
  grid.setPlaceholder("");
  panel.loading(stepOf(q));
  await load(q);
  if (q === query && !q.failed) summarize(q);
}

function nextPage() {
  if (query && !query.loading && !query.done) load(query);
}

async function load(q) {
  const first = q.cursor === null;
  q.loading = true;
  setBusy(true);
  showStatus(q);
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
    q.meta = data.meta;
  } catch (error) {
    if (error.name === "AbortError" || q !== query) return;
    q.done = true;
    q.failed = true;
    await fail(error);
  } finally {
    if (q === query) {
      q.loading = false;
      setBusy(false);
      if (!q.failed) showStatus(q);
    }
  }
  if (q === query && !q.done && grid.nearEnd()) nextPage();
}

function showStatus(q) {
  const of = q.total === null ? "" : ` of ${number(q.total)}`;
  if (q.loading) {
    say(q.cursor === null ? "Loading…" : `${number(q.rows)}${of} calls shown, loading more…`, "busy");
    return;
  }
  const { meta } = q;
  const range = `${meta.from} to ${meta.to} (${meta.timezone})`;
  if (q.rows === 0) {
    const empty = `No calls match these filters from ${range}. Widen the dates or remove filters.`;
    grid.setPlaceholder(empty);
    say(empty, "empty");
  } else if (q.cursor === null) {
    say(`${count(q.rows, "call")}, ${range}.`);
  } else if (q.done) {
    say(`The first ${number(q.rows)}${of} calls, ${range}, are shown: narrow the filters, or export the whole range.`);
  } else {
    say(`${number(q.rows)}${of} calls shown, ${range}; scroll for more.`);
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
  panel.clear();
  await grid.clear(message);
  say(message, "error");
}

// -- summaries -----------------------------------------------------------------------------

/** The time chart's step: the one chosen, else hours for a day and days for longer. */
function stepOf(q) {
  return filters.per ?? (q.params.fromDate === q.params.toDate ? "hour" : "day");
}

/** The panel's summaries of the query, then the pick-lists' choices when the range is new:
 *  one after the other, the total first, so that a long range's summaries do not slow each
 *  other down on the server. */
async function summarize(q) {
  const byAgent = fetchSummary(credentials, q.params, ["user", "disposition"], q.controller.signal);
  await settle(q, byAgent, (data) => {
    q.total = data.meta.totals.calls;
    if (q.total === 0) panel.clear("No calls to sum up.");
    else panel.showAgents(data.rows, data.meta);
    if (q.total > XLSX_ROWS) {
      note(`An Excel sheet holds ${number(XLSX_ROWS)} rows, fewer than these calls: export CSV, or narrow the range.`);
    }
    setBusy(q.loading);
    showStatus(q);
  });
  if (q !== query || q.total === 0) return;
  await timeline(q);
  if (q === query) await offerChoices(q.params, unfiltered(q.params) ? byAgent : null);
}

async function timeline(q) {
  const step = stepOf(q);
  q.step = step;
  const asked = fetchSummary(credentials, q.params, [step], q.controller.signal);
  await settle(q, asked, (data) => {
    if (q.step === step) panel.showTimeline(data.rows, step);
  });
}

/** Shows a summary of query `q` when it comes, unless a newer query took over. */
async function settle(q, asked, show) {
  try {
    const data = await asked;
    if (q === query) show(data);
  } catch (error) {
    if (error.name === "AbortError" || q !== query) return;
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "10000") signOut(advice(error));
    else panel.fail(advice(error));
  }
}

/** Fills the pick-lists from the summaries of the range alone (no other filter), asked once
 *  per range. `byAgent`: the same summary, already asked for the panel, or null. */
async function offerChoices(params, byAgent) {
  const range = rangeOf(params);
  const key = JSON.stringify(range);
  if (key === offered.range) return;
  offered.controller?.abort();
  const mine = { range: key, controller: new AbortController() };
  offered = mine;
  try {
    for (const groupBy of CHOICES) {
      const data = await (byAgent && groupBy[0] === "user"
        ? byAgent
        : fetchSummary(credentials, range, groupBy, mine.controller.signal));
      if (offered !== mine) return;
      for (const [name, key] of Object.entries(KEY_OF)) {
        if (groupBy.includes(key)) pickers[name].offer(choices(data.rows, key));
      }
    }
  } catch {
    if (offered === mine) offered = { range: null, controller: null }; // asked again next time
  }
}

// -- columns and exports -------------------------------------------------------------------

/** The column checkboxes, from the columns the API sent. */
function listColumns() {
  const list = $("column-list");
  list.replaceChildren(...grid.columns().map(([field, title]) => {
    // Named apart from the filters: the form's data holds the checked boxes too.
    const box = Object.assign(document.createElement("input"), {
      type: "checkbox", name: "column", value: field, checked: !filters.hide.includes(field),
    });
    const label = document.createElement("label");
    label.append(box, ` ${title}`);
    return label;
  }));
}

$("column-list").addEventListener("change", (event) => {
  const { value: field, checked } = event.target;
  filters.hide = checked ? filters.hide.filter((f) => f !== field) : [...filters.hide, field];
  grid.setHidden(filters.hide);
  remember();
});

function exportReport(event) {
  const format = event.currentTarget.dataset.format;
  exporting = true;
  note(format === "xlsx"
    ? "Writing the Excel file: your browser saves it when it is complete (a long range takes a while)."
    : "Your browser saves the file as it arrives.");
  submitExport(credentials, query.params, format, "export-frame");
}

/** An export that failed answered with an error body, which loaded into the frame. */
function exportFailed() {
  const text = $("export-frame").contentDocument?.body?.textContent ?? "";
  if (!exporting || text === "") return;
  exporting = false;
  let message;
  try {
    dataOf(JSON.parse(text));
    return;
  } catch (error) {
    message = error instanceof ApiError ? advice(error) : "The export failed: the server answered without a file.";
  }
  note(`Export failed: ${message}`, "error");
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
  toForm(filtersForm, filters, knownZone(filters.tz, serverZone), pickers);
  await apply();
}

function signOut(message = "") {
  query?.controller.abort();
  query = null;
  offered.controller?.abort();
  offered = { range: null, controller: null };
  for (const picker of Object.values(pickers)) picker.offer([]);
  credentials = null;
  exporting = false;
  grid.clear();
  panel.clear();
  say("");
  note("");
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
  for (const picker of Object.values(pickers)) picker.commitTyped();
  apply();
});
filtersForm.addEventListener("pick", () => apply());
filtersForm.addEventListener("change", (event) => {
  // The columns are the table's view, and a pick-list's text is not a filter until picked.
  if (event.target.closest("#columns, .picker")) return;
  const { elements } = filtersForm;
  if (event.target === elements.fromDate || event.target === elements.toDate) elements.preset.value = "custom";
  showRange(filtersForm, elements.preset.value, knownZone(elements.tz.value, serverZone));
  apply();
});
for (const button of exportButtons) button.addEventListener("click", exportReport);
$("export-frame").addEventListener("load", exportFailed);
// Busy while any request of the page runs: its table, its summaries or the pick-lists'.
activity.addEventListener("change", () => $("report").setAttribute("aria-busy", String(activity.pending > 0)));
$("zones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((zone) => new Option(zone)));
setBusy(false);
signin.querySelector("button").disabled = false; // a form without this script must not submit
