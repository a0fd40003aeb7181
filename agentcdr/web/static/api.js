// The agent_cdr API as the page uses it. Credentials travel in the POST body only, never in
// a URL; exports are plain form submissions, so the browser streams them to a file itself.
export const API = "/goAPIv2/goReports/goAPI.php";

/** An error answer of the API (code and message from its body), or a failed connection. */
export class ApiError extends Error {
  constructor(code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Tells its listeners ("change" events) how many requests are on their way: `activity.pending`. */
export const activity = Object.assign(new EventTarget(), { pending: 0 });

function track(step) {
  activity.pending += step;
  activity.dispatchEvent(new Event("change"));
}

/** [name, value] pairs of a request: lists as PHP-style name[] items. */
function pairs(credentials, action, params) {
  const out = [
    ["goAction", action],
    ["goUser", credentials.user],
    ["goPass", credentials.password],
  ];
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      for (const item of value) out.push([`${name}[]`, item]);
    } else if (value !== null && value !== undefined && value !== "") {
      out.push([name, String(value)]);
    }
  }
  return out;
}

/** The `data` of a JSON answer; rejects with ApiError, or an AbortError when cancelled. */
async function call(credentials, action, params, signal) {
  const body = new URLSearchParams(pairs(credentials, action, { ...params, responsetype: "json" }));
  track(1);
  try {
    let response;
    try {
      response = await fetch(API, { method: "POST", body, signal, headers: { Accept: "application/json" } });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("network", "The server could not be reached.");
    }
    let answer;
    try {
      answer = await response.json();
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("http", `The server answered HTTP ${response.status} without a report.`);
    }
    return dataOf(answer, response.headers.get("Retry-After"));
  } finally {
    track(-1);
  }
}

/** An answer's `data`, or its error as an ApiError. */
export function dataOf(answer, retryAfter = null) {
  if (answer?.result !== "success") {
    throw new ApiError(String(answer?.code), answer?.message ?? "The server gave no reason.", retryAfter);
  }
  return answer.data;
}

/** One JSON page of the report. */
export function fetchReport(credentials, params, signal) {
  return call(credentials, "agent_cdr", params, signal);
}

/** The summary of the same filters grouped by `groupBy` (one or two keys). The report's own
 *  parameters are left out: the API would name them in its warnings. */
export function fetchSummary(credentials, params, groupBy, signal) {
  const { order, limit, cursor, ...filters } = params;
  return call(credentials, "agent_cdr_summary", { ...filters, groupBy }, signal);
}

/** Downloads the whole report in `responsetype` by submitting a form to the API into the
 *  frame named `target`: the answer (Content-Disposition: attachment) goes straight to a
 *  file, and an error answer loads into the frame, where the caller reads it. A CSV file is
 *  opened in a spreadsheet, so its cells are kept from reading as formulas. */
export function submitExport(credentials, params, responsetype, target) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = API;
  form.target = target;
  form.hidden = true;
  const csv = responsetype === "csv" ? { csvFormulas: "neutralize" } : {};
  for (const [name, value] of pairs(credentials, "agent_cdr", { ...params, responsetype, ...csv })) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  try {
    form.submit();
  } finally {
    form.remove();
  }
}
