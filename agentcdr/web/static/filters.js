// The filters of the page: read from and written to its URL (so a view can be bookmarked,
// shared and reloaded; the password never goes there), shown in the filter form, and turned
// into API parameters. Date presets resolve in the report's time zone, not the browser's.

export const LISTS = ["user", "campaign_name", "disposition", "tenant", "profile"];
// One phone or loan number each (the API takes lists; the page searches for one).
const SEARCHES = ["phone_number", "loan_number"];
const SCALARS = ["preset", "fromDate", "toDate", "tz", "call_type", ...SEARCHES, "order"];
export const PRESETS = ["today", "yesterday", "last7", "month", "last24", "custom"];
// The summary chart's time step; not a filter, but part of the view a URL restores.
const STEPS = ["hour", "day"];
const DEFAULTS = { preset: "today", order: "desc" };

/** Comma-separated text -> trimmed, non-empty items. */
export function splitList(text) {
  return String(text ?? "").split(",").map((item) => item.trim()).filter(Boolean);
}

/** The filters a URL query string holds (unknown keys and values dropped). */
export function fromQuery(search) {
  const query = new URLSearchParams(search);
  const filters = { ...DEFAULTS, hide: splitList(query.get("hide")) };
  for (const name of SCALARS) if (query.get(name)) filters[name] = query.get(name).trim();
  if (STEPS.includes(query.get("per"))) filters.per = query.get("per");
  for (const name of LISTS) filters[name] = splitList(query.get(name));
  if (!PRESETS.includes(filters.preset)) filters.preset = DEFAULTS.preset;
  if (filters.order !== "asc") filters.order = "desc";
  if (filters.preset !== "custom") {
    delete filters.fromDate;
    delete filters.toDate;
  }
  return filters;
}

/** The URL query string of `filters`: only what differs from the defaults. */
export function toQuery(filters) {
  const query = new URLSearchParams();
  for (const name of SCALARS) {
    const value = filters[name];
    const dated = name === "fromDate" || name === "toDate";
    if (dated && filters.preset !== "custom") continue; // a preset moves with the calendar
    if (value && value !== DEFAULTS[name]) query.set(name, value);
  }
  for (const name of [...LISTS, "hide"]) {
    if (filters[name]?.length) query.set(name, filters[name].join(","));
  }
  if (filters.per) query.set("per", filters.per);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** The filters the form shows (a pick-list's choices are its hidden inputs). */
export function fromForm(form) {
  const data = new FormData(form);
  const filters = { hide: [] };
  for (const name of SCALARS) filters[name] = String(data.get(name) ?? "").trim();
  for (const name of LISTS) filters[name] = data.getAll(name).map(String);
  return filters;
}

/** Puts `filters` into the form and its pick-lists; preset dates are shown, resolved in
 *  `zone`. */
export function toForm(form, filters, zone, pickers) {
  for (const name of SCALARS) {
    if (form.elements[name]) form.elements[name].value = filters[name] ?? "";
  }
  for (const name of LISTS) pickers[name].choose(filters[name] ?? []);
  showRange(form, filters.preset, zone);
}

/** Shows the dates a preset stands for (empty for "last 24 hours"). */
export function showRange(form, preset, zone) {
  if (preset === "custom") return;
  const [from, to] = presetRange(preset, zone, new Date());
  form.elements.fromDate.value = from;
  form.elements.toDate.value = to;
}

/** [fromDate, toDate] of a preset on the calendar of `zone` at `now` ("" = not sent). */
export function presetRange(preset, zone, now) {
  const today = dayIn(zone, now);
  switch (preset) {
    case "today": return [today, today];
    case "yesterday": return [addDays(today, -1), addDays(today, -1)];
    case "last7": return [addDays(today, -6), today];
    case "month": return [`${today.slice(0, 8)}01`, today];
    default: return ["", ""]; // last24: the API's own default range
  }
}

/** The API parameters of `filters` (no limit, cursor or format). */
export function apiParams(filters, zone) {
  const [fromDate, toDate] = filters.preset === "custom"
    ? [filters.fromDate ?? "", filters.toDate ?? ""]
    : presetRange(filters.preset, zone, new Date());
  const params = { fromDate, toDate, tz: filters.tz, call_type: filters.call_type, order: filters.order };
  for (const name of SEARCHES) params[name] = filters[name];
  for (const name of LISTS) params[name] = filters[name] ?? [];
  return params;
}

/** Only the range of `params` (dates and zone): what the pick-lists' choices come from. */
export function rangeOf(params) {
  return { fromDate: params.fromDate, toDate: params.toDate, tz: params.tz };
}

/** True when `params` narrow the range by nothing but its dates. */
export function unfiltered(params) {
  const narrowing = [...LISTS.map((name) => params[name]?.length), params.call_type, ...SEARCHES.map((name) => params[name])];
  return !narrowing.some(Boolean);
}

/** `zone` when the browser knows it, else `fallback` (the server then names the bad value). */
export function knownZone(zone, fallback) {
  if (!zone) return fallback;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return fallback;
  }
}

/** YYYY-MM-DD of `now` on the calendar of the IANA zone `zone`. */
function dayIn(zone, now) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(now);
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

function addDays(day, days) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
