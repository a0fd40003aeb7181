// A pick-list with type-ahead (the ARIA 1.2 combobox pattern) over a text input: typing
// narrows the choices (the values of the chosen range, with their calls), arrows move, Enter
// or a click picks, Escape closes. Picked values are chips with a remove button, and hidden
// inputs named like the API's list filter, so the form holds them. A value that is not a
// choice can be typed and picked with Enter too (commas separate several).
import { count, number } from "./summary.js";

const SHOWN = 50; // choices listed at once; typing narrows the rest

let lists = 0;

export class Picker {
  /** `input`: the labelled text input, inside the form; `name`: the filter's name. */
  constructor(input, name) {
    this.input = input;
    this.name = name;
    this.choices = [];
    this.chosen = [];
    this.shown = [];
    this.active = -1;

    const id = `picker-${++lists}`;
    this.popup = Object.assign(document.createElement("div"), { className: "picker-popup", hidden: true });
    this.list = Object.assign(document.createElement("ul"), { id });
    this.list.setAttribute("role", "listbox");
    const label = input.labels[0]?.textContent ?? name;
    this.list.setAttribute("aria-label", `${label}: choices`);
    this.more = Object.assign(document.createElement("p"), { className: "picker-more" });
    this.popup.append(this.list, this.more);
    this.chips = Object.assign(document.createElement("ul"), { className: "chips" });
    this.chips.setAttribute("aria-label", `${label}: chosen`);
    input.after(this.popup, this.chips);

    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    input.addEventListener("input", () => this.#open());
    input.addEventListener("click", () => this.#open());
    input.addEventListener("keydown", (event) => this.#key(event));
    input.addEventListener("blur", () => this.#close());
    // A press on a choice must not take the focus from the input (that would close the list).
    this.list.addEventListener("mousedown", (event) => event.preventDefault());
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.#pick([this.shown[Number(option.dataset.index)].value]);
    });
    this.chips.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      this.chosen = this.chosen.filter((value) => value !== button.value);
      this.#renderChips();
      this.input.focus();
      this.#changed();
    });
  }

  /** The values offered, [{value, calls}]. */
  offer(choices) {
    this.choices = choices;
    if (!this.popup.hidden) this.#open();
  }

  /** Replaces the chosen values (no event: the caller runs what follows). */
  choose(values) {
    this.chosen = [...new Set(values)];
    this.#renderChips();
  }

  /** Picks what was typed but not yet picked (the form is being submitted). */
  commitTyped() {
    const typed = this.#typed();
    if (typed.length === 0) return;
    this.input.value = "";
    this.choose([...this.chosen, ...typed]);
  }

  #typed() {
    return this.input.value.split(",").map((item) => item.trim()).filter(Boolean);
  }

  #pick(values) {
    this.input.value = "";
    this.#close();
    const added = values.filter((value) => !this.chosen.includes(value));
    if (added.length === 0) return;
    this.choose([...this.chosen, ...added]);
    this.#changed();
  }

  #changed() {
    this.input.dispatchEvent(new CustomEvent("pick", { bubbles: true }));
  }

  #key(event) {
    const open = !this.popup.hidden;
    switch (event.key) {
      case "ArrowDown":
      case "ArrowUp":
        event.preventDefault();
        if (!open) this.#open();
        this.#move(event.key === "ArrowDown" ? 1 : -1);
        break;
      case "Enter":
        if (open && this.active >= 0) {
          event.preventDefault();
          this.#pick([this.shown[this.active].value]);
        } else if (this.#typed().length) {
          event.preventDefault();
          this.#pick(this.#typed());
        } // else: an empty input lets Enter submit the form
        break;
      case "Escape":
        if (open) {
          event.preventDefault();
          this.#close();
        }
        break;
      case "Backspace":
        if (this.input.value === "" && this.chosen.length) {
          this.chosen = this.chosen.slice(0, -1);
          this.#renderChips();
          this.#changed();
        }
        break;
      default:
    }
  }

  #open() {
    const text = this.input.value.trim().toLowerCase();
    const matching = this.choices.filter(
      (choice) => !this.chosen.includes(choice.value) && choice.value.toLowerCase().includes(text),
    );
    this.shown = matching.slice(0, SHOWN);
    this.active = -1;
    this.list.replaceChildren(...this.shown.map((choice, index) => this.#option(choice, index)));
    const rest = matching.length - this.shown.length;
    this.more.textContent = rest > 0 ? `${number(rest)} more: type to narrow` : "";
    this.more.hidden = rest <= 0;
    this.popup.hidden = this.shown.length === 0;
    this.input.setAttribute("aria-expanded", String(!this.popup.hidden));
    this.input.removeAttribute("aria-activedescendant");
  }

  #option(choice, index) {
    const option = document.createElement("li");
    option.id = `${this.list.id}-${index}`;
    option.dataset.index = String(index);
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", "false");
    const calls = Object.assign(document.createElement("span"), {
      className: "calls",
      textContent: count(choice.calls, "call"),
    });
    option.append(document.createTextNode(choice.value), calls);
    return option;
  }

  #move(step) {
    if (this.shown.length === 0) return;
    const options = this.list.children;
    options[this.active]?.setAttribute("aria-selected", "false");
    const n = this.shown.length;
    this.active = this.active < 0 ? (step > 0 ? 0 : n - 1) : (this.active + step + n) % n;
    const option = options[this.active];
    option.setAttribute("aria-selected", "true");
    option.scrollIntoView({ block: "nearest" });
    this.input.setAttribute("aria-activedescendant", option.id);
  }

  #close() {
    this.popup.hidden = true;
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  #renderChips() {
    this.chips.replaceChildren(...this.chosen.map((value) => {
      const chip = document.createElement("li");
      const remove = Object.assign(document.createElement("button"), { type: "button", value, textContent: "×" });
      remove.setAttribute("aria-label", `Remove ${value}`);
      const hidden = Object.assign(document.createElement("input"), { type: "hidden", name: this.name, value });
      chip.append(document.createTextNode(value), remove, hidden);
      return chip;
    }));
    this.chips.hidden = this.chosen.length === 0;
  }
}
