// The table of calls: Tabulator with its virtual DOM (only the rows on screen are in the
// document), filled page by page by the caller. Every value is rendered as text: the API's
// `headers` ask for formatter "html", which the page overrides.
import { FormatModule, ResizeColumnsModule, Tabulator } from "./vendor/tabulator.js";

Tabulator.registerModule([FormatModule, ResizeColumnsModule]);

const SORTED = "answer_time"; // the one column the server sorts by (order=asc|desc)

const asText = (value) => document.createTextNode(value === null || value === undefined ? "" : String(value));

export class Grid {
  /** `onOrder()` is called when the answer-time header is clicked; `onNearEnd()` when the
   *  view comes within two screens of the last loaded row. */
  constructor(element, { onOrder, onNearEnd }) {
    this.element = element;
    this.onOrder = onOrder;
    this.onNearEnd = onNearEnd;
    this.table = null;
    this.ready = null;
    this.placeholder = document.createElement("div");
    this.placeholder.className = "placeholder";
  }

  /** Shows `rows` under the API's `headers`, replacing what was shown. */
  async show(headers, rows, { order, hidden }) {
    if (!this.table) this.ready = this.#create(headers);
    await this.ready;
    await this.table.setData(rows);
    this.setOrder(order);
    this.setHidden(hidden);
  }

  async append(rows) {
    await this.table.addData(rows);
  }

  /** Removes every row; `message` is shown in their place. */
  async clear(message = "") {
    this.placeholder.textContent = message;
    if (this.table) {
      await this.ready;
      this.table.clearData();
    }
  }

  setPlaceholder(message) {
    this.placeholder.textContent = message;
  }

  /** True when the loaded rows no longer fill two screens below the view. */
  nearEnd() {
    const holder = this.element.querySelector(".tabulator-tableholder");
    if (!holder) return false;
    return holder.scrollHeight - holder.clientHeight - holder.scrollTop < holder.clientHeight * 2;
  }

  columns() {
    return this.table ? this.table.getColumns().map((c) => [c.getField(), c.getDefinition().title]) : [];
  }

  setHidden(hidden) {
    for (const column of this.table?.getColumns() ?? []) {
      if (hidden.includes(column.getField())) column.hide();
      else column.show();
    }
  }

  setOrder(order) {
    const header = this.table?.getColumn(SORTED)?.getElement();
    if (!header) return;
    header.dataset.order = order;
    header.setAttribute("aria-sort", order === "asc" ? "ascending" : "descending");
  }

  #create(headers) {
    const columns = headers.map(({ title, field }) => ({
      title, field, cssClass: field === SORTED ? "sortable" : undefined,
    }));
    // The table fills a box of its own, which the element's CSS height bounds: Tabulator
    // sets the height of the element it is given.
    const box = document.createElement("div");
    box.className = "grid-box";
    this.element.append(box);
    this.table = new Tabulator(box, {
      height: "100%",
      layout: "fitData",
      renderVertical: "virtual",
      // Rows drawn beyond the view, in pixels (Tabulator's default is a whole view above and
      // below): fewer rows to draw when the view jumps, so the main thread stays free.
      renderVerticalBuffer: 150,
      placeholder: this.placeholder,
      columnDefaults: {
        resizable: true,
        formatter: (cell) => asText(cell.getValue()),
        titleFormatter: (cell) => asText(cell.getValue()),
      },
      columns,
    });
    this.table.on("scrollVertical", () => {
      if (this.nearEnd()) this.onNearEnd();
    });
    return new Promise((resolve) => this.table.on("tableBuilt", resolve)).then(() => this.#sortHeader());
  }

  /** The answer-time header flips the order, by click or by Enter/Space when focused. */
  #sortHeader() {
    const header = this.table.getColumn(SORTED)?.getElement();
    if (!header) return;
    header.tabIndex = 0;
    header.setAttribute("role", "columnheader");
    header.title = "Newest or oldest first";
    header.addEventListener("click", (event) => {
      if (!event.target.closest(".tabulator-col-resize-handle")) this.onOrder();
    });
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        this.onOrder();
      }
    });
  }
}
