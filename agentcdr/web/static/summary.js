// The summary API's rows shaped for the page: agents with their dispositions, dispositions,
// calls per time step, the choices of a pick-list; and the numbers as people read them.

const counts = new Intl.NumberFormat("en-US");
const shares = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });

export const number = (value) => counts.format(value);
export const share = (part, whole) => shares.format(whole ? part / whole : 0);
/** "1 call", "2,000 calls". */
export const count = (n, noun) => `${counts.format(n)} ${noun}${n === 1 ? "" : "s"}`;

/** Seconds as H:MM:SS (hours beyond a day keep counting: 1,234:05:06). */
export function duration(seconds) {
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = String(Math.floor((whole % 3600) / 60)).padStart(2, "0");
  return `${counts.format(hours)}:${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

const byCallsThenName = (a, b) => b.calls - a.calls || String(a.name).localeCompare(String(b.name));

/** Rows grouped by `key` (and whatever else), summed per value of `key`: [{name, calls,
 *  total_sec, max_sec}], most calls first. */
export function totalsBy(rows, key) {
  const groups = new Map();
  for (const row of rows) {
    const group = groups.get(row[key]) ?? { name: row[key], calls: 0, total_sec: 0, max_sec: 0 };
    group.calls += row.calls;
    group.total_sec += row.total_sec;
    group.max_sec = Math.max(group.max_sec, row.max_sec);
    groups.set(row[key], group);
  }
  return [...groups.values()].sort(byCallsThenName);
}

/** Agents from rows grouped by user and disposition: calls, talk time, its average and
 *  their dispositions, most calls first. */
export function agents(rows) {
  const dispositions = new Map();
  for (const row of rows) {
    const list = dispositions.get(row.user) ?? [];
    list.push({ name: row.disposition, calls: row.calls });
    dispositions.set(row.user, list);
  }
  return totalsBy(rows, "user").map((agent) => ({
    ...agent,
    avg_sec: agent.calls ? agent.total_sec / agent.calls : 0,
    dispositions: dispositions.get(agent.name).sort(byCallsThenName),
  }));
}

/** Calls per step ("hour": 0-23, "day": YYYY-MM-DD) in time order, every hour of the day
 *  shown (a quiet hour is a bar of nothing, not a gap). `label` names the step, `short` as
 *  the chart's axis does (a day without its year). */
export function timeline(rows, step) {
  const steps = totalsBy(rows, step).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (step !== "hour") return steps.map((s) => ({ ...s, label: s.name, short: s.name.slice(5) }));
  const found = new Map(steps.map((s) => [s.name, s]));
  return Array.from({ length: 24 }, (_, hour) => ({
    ...(found.get(hour) ?? { name: hour, calls: 0, total_sec: 0, max_sec: 0 }),
    label: `${String(hour).padStart(2, "0")}:00`,
    short: `${String(hour).padStart(2, "0")}:00`,
  }));
}

/** The choices of a pick-list from rows that hold `key`: [{value, calls}] in name order. */
export function choices(rows, key) {
  return totalsBy(rows, key)
    .filter((group) => group.name !== null && group.name !== "")
    .map((group) => ({ value: String(group.name), calls: group.calls }))
    .sort((a, b) => a.value.localeCompare(b.value));
}
