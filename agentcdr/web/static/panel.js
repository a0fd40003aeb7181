// The summary panel: the totals of the filtered range, calls per hour or day and calls per
// disposition as charts (each with its numbers as a table), and the agents: calls, talk time
// in total and on average, and their dispositions in counts and shares. Choosing an agent
// asks the page to show only that agent's calls. Every value is set as text.
import { BarChart } from "./charts.js";
import { agents, count, duration, number, share, timeline, totalsBy } from "./summary.js";

const TOP_DISPOSITIONS = 3; // per agent in the table; the rest are summed as "others"
const NONE = "(none)";

const SORTS = {
  name: (a, b) => String(a.name).localeCompare(String(b.name)),
  calls: (a, b) => a.calls - b.calls,
  total_sec: (a, b) => a.total_sec - b.total_sec,
  avg_sec: (a, b) => a.avg_sec - b.avg_sec,
};

const cell = (tag, content) => {
  const element = document.createElement(tag);
  element.append(content);
  return element;
};

function fillTable(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const row = document.createElement("tr");
    row.append(...cells.map((content, i) => cell(i === 0 ? "th" : "td", content)));
    if (row.firstChild) row.firstChild.scope = "row";
    return row;
  }));
}

export class Panel {
  /** `onAgent(name)`: an agent was chosen; `onStep(step)`: the time chart's step changed. */
  constructor(root, { onAgent, onStep }) {
    this.root = root;
    this.$ = (selector) => root.querySelector(selector);
    this.timeChart = new BarChart(this.$("#plot-time"));
    this.dispositionChart = new BarChart(this.$("#plot-dispositions"), { horizontal: true });
    this.agents = [];
    this.sort = { key: "calls", descending: true };
    this.$("#agents tbody").addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (button) onAgent(button.value);
    });
    this.$("#agents thead").addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (button) this.#sortBy(button.value);
    });
    this.$("#f-per").addEventListener("change", (event) => onStep(event.target.value));
  }

  /** A summary is on its way: the old one is gone, and the panel says so (keeping its place,
   *  so that what is below does not move when the summary comes). */
  loading(step) {
    this.#empty("Summing up…", true);
    this.$(".panel-body").hidden = false;
    this.$("#f-per").value = step;
  }

  /** Nothing to show; `message` says why. */
  clear(message = "") {
    this.#empty(message, false);
  }

  /** The totals, the agents and the dispositions, from rows grouped by user and disposition. */
  showAgents(rows, meta) {
    const { calls, total_sec: total } = meta.totals;
    this.agents = agents(rows);
    this.$("#panel-totals").textContent = calls
      ? `${count(calls, "call")}, talk time ${duration(total)} (${duration(total / calls)} a call), ${count(this.agents.length, "agent")}`
      : "no calls";
    this.#status("", false);
    this.$(".panel-body").hidden = false;
    this.#renderAgents();
    const dispositions = totalsBy(rows, "disposition");
    const names = dispositions.map((d) => d.name ?? NONE);
    this.dispositionChart.show(names, dispositions.map((d) => d.calls));
    fillTable(this.$("#table-dispositions tbody"), dispositions.map((d, i) => [
      names[i], number(d.calls), share(d.calls, calls), duration(d.total_sec),
    ]));
  }

  /** Calls per `step` (hour of the day, or day). */
  showTimeline(rows, step) {
    const steps = timeline(rows, step);
    this.$("#f-per").value = step;
    this.timeChart.show(steps.map((s) => s.short), steps.map((s) => s.calls));
    fillTable(this.$("#table-time tbody"), steps.map((s) => [s.label, number(s.calls), duration(s.total_sec)]));
    this.$("#table-time thead th").textContent = step === "hour" ? "Hour" : "Day";
  }

  /** A summary failed: `message` says what to do. */
  fail(message) {
    this.#empty(message, false);
    this.$("#panel-status").className = "error";
  }

  #empty(message, busy) {
    this.$(".panel-body").hidden = true;
    this.agents = [];
    this.$("#panel-totals").textContent = "";
    this.timeChart.clear();
    this.dispositionChart.clear();
    for (const tbody of this.root.querySelectorAll("tbody")) tbody.replaceChildren();
    this.#status(message, busy);
  }

  #status(message, busy) {
    const status = this.$("#panel-status");
    status.textContent = message;
    status.className = busy ? "busy" : "";
    status.hidden = message === "";
    this.root.setAttribute("aria-busy", String(busy));
  }

  #sortBy(key) {
    const descending = this.sort.key === key ? !this.sort.descending : key !== "name";
    this.sort = { key, descending };
    this.#renderAgents();
  }

  #renderAgents() {
    const { key, descending } = this.sort;
    const sorted = [...this.agents].sort((a, b) => (descending ? -1 : 1) * SORTS[key](a, b) || SORTS.name(a, b));
    for (const th of this.root.querySelectorAll("#agents thead th")) {
      const sorted = th.querySelector("button")?.value === key;
      if (sorted) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
    fillTable(this.$("#agents tbody"), sorted.map((agent) => {
      const choose = Object.assign(document.createElement("button"), {
        type: "button", value: agent.name, textContent: agent.name, title: "Show only this agent's calls",
      });
      return [choose, number(agent.calls), duration(agent.total_sec), duration(agent.avg_sec), this.#dispositions(agent)];
    }));
  }

  /** "VM / NML 12 (40%), RPC 9 (30%), 3 others 9 (30%)". */
  #dispositions(agent) {
    const top = agent.dispositions.slice(0, TOP_DISPOSITIONS);
    const parts = top.map((d) => `${d.name ?? NONE} ${number(d.calls)} (${share(d.calls, agent.calls)})`);
    const rest = agent.dispositions.slice(TOP_DISPOSITIONS);
    if (rest.length) {
      const calls = rest.reduce((sum, d) => sum + d.calls, 0);
      parts.push(`${rest.length} other${rest.length > 1 ? "s" : ""} ${number(calls)} (${share(calls, agent.calls)})`);
    }
    return parts.join(", ");
  }
}
