// Bar charts on uPlot: calls per hour or day (upright bars, a time step per bar) and calls
// per disposition (lying bars, long names beside them). uPlot draws on a canvas, so labels
// are painted text and never markup; each chart sits beside a table of the same numbers for
// those who do not see it.
import uPlot from "./vendor/uplot.js";

const INK = "#1d232b";
const BAR = "#1f4e79";
const GRID = "#e6eaee";
const FONT = "12px system-ui, sans-serif";
const LABEL_CHARS = 24; // longer category names are cut short on the chart (the table has them whole)
const MIN_PX = 120; // no chart is smaller
const ROW_PX = 20; // the height of a lying bar's row, so that every category has its label

const counts = new Intl.NumberFormat("en-US");

/** `text` cut to `LABEL_CHARS` characters. */
function short(text) {
  const value = String(text);
  return value.length > LABEL_CHARS ? `${value.slice(0, LABEL_CHARS - 1)}…` : value;
}

/** The width in pixels of the widest of `labels` in the chart's font. */
function widest(labels) {
  const context = document.createElement("canvas").getContext("2d");
  context.font = FONT;
  return Math.max(0, ...labels.map((label) => context.measureText(label).width));
}

export class BarChart {
  /** A chart in `element` (sized by CSS; the chart follows it). `horizontal`: bars lie
   *  along the value axis, one row per label. */
  constructor(element, { horizontal = false } = {}) {
    this.element = element;
    this.horizontal = horizontal;
    this.plot = null;
    new ResizeObserver(() => this.#resize()).observe(element);
  }

  /** Draws one bar per label; no labels, no chart. */
  show(labels, values) {
    this.clear();
    if (labels.length === 0) return;
    // A lying chart grows with its categories (a style property, which the page's
    // Content-Security-Policy allows, unlike a style attribute).
    if (this.horizontal) this.element.style.height = `${Math.max(labels.length * ROW_PX + 40, MIN_PX)}px`;
    const { width, height } = this.#size();
    const names = labels.map(short);
    const indexes = names.map((_, i) => i);
    this.plot = new uPlot(this.#options(names, Math.max(...values), width, height), [indexes, values], this.element);
  }

  clear() {
    this.plot?.destroy();
    this.plot = null;
  }

  #size() {
    return { width: Math.max(this.element.clientWidth, MIN_PX), height: Math.max(this.element.clientHeight, MIN_PX) };
  }

  #resize() {
    if (this.plot) this.plot.setSize(this.#size());
  }

  #options(names, top, width, height) {
    const category = {
      stroke: INK,
      font: FONT,
      grid: { show: false },
      ticks: { show: false },
      // Integer steps only: one label per bar, or every second, fifth, … when crowded.
      incrs: [1, 2, 3, 4, 6, 7, 12, 14, 24, 30],
      space: this.horizontal ? ROW_PX - 4 : widest(names) + 12,
      values: (u, splits) => splits.map((i) => names[i] ?? ""),
    };
    const value = {
      stroke: INK,
      font: FONT,
      grid: { stroke: GRID, width: 1 },
      ticks: { show: false },
      values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? counts.format(v) : "")),
    };
    if (this.horizontal) {
      Object.assign(category, { side: 3, size: Math.ceil(widest(names)) + 12 });
      Object.assign(value, { side: 2, size: 32, space: widest([counts.format(top)]) + 20 });
    } else {
      value.size = Math.ceil(widest([counts.format(top)])) + 14;
    }
    return {
      width,
      height,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, range: [-0.5, names.length - 0.5], ...(this.horizontal ? { ori: 1, dir: -1 } : {}) },
        y: { range: [0, top * 1.08 || 1], ...(this.horizontal ? { ori: 0 } : {}) },
      },
      axes: [category, value],
      series: [
        {},
        {
          label: "Calls",
          fill: BAR,
          stroke: BAR,
          width: 0,
          points: { show: false },
          paths: uPlot.paths.bars({ size: [0.7, 48], align: 0 }),
        },
      ],
    };
  }
}
