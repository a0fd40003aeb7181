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

/** [name, value] pairs of a report request: lists as PHP-style name[] items. */
function pairs(credentials, params) {
  const out = [
    ["goAction", "agent_cdr"],
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

/** One JSON page of the report; rejects with ApiError, or an AbortError when cancelled. */
export async function fetchReport(credentials, params, signal) {
  const body = new URLSearchParams(pairs(credentials, { ...params, responsetype: "json" }));
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
  if (answer.result !== "success") {
    throw new ApiError(String(answer.code), answer.message, response.headers.get("Retry-After"));
  }
  return answer.data;
}

/** Downloads the whole report in `responsetype` by submitting a form to the API: the answer
 *  (Content-Disposition: attachment) goes straight to a file and the page stays. A CSV file
 *  is opened in a spreadsheet, so its cells are kept from reading as formulas. */
export function submitExport(credentials, params, responsetype) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = API;
  form.hidden = true;
  const csv = responsetype === "csv" ? { csvFormulas: "neutralize" } : {};
  for (const [name, value] of pairs(credentials, { ...params, responsetype, ...csv })) {
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
