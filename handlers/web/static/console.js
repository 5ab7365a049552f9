// The operators' console (/console): place suggestions while typing, and the priority the
// answers imply as soon as they are ticked. The page works without this script: the server
// offers the same choice of places and shows the priority on the receipt.
"use strict";

(function () {
  const form = document.getElementById("call");
  if (!form) return;
  const lang = form.dataset.lang || "zh";
  const outsideWord = form.dataset.outside || "";

  // ---- the priority, asked of the server (flows.triage decides it, as at filing) ----
  const priority = document.getElementById("priority");
  const value = document.getElementById("priority-value");
  const advice = document.getElementById("p0-advice");
  let asked = 0;

  function checked(name) {
    return Array.from(form.querySelectorAll(`input[name="${name}"]:checked`)).map((i) => i.value);
  }

  async function showPriority() {
    const params = new URLSearchParams({ lang: lang });
    const danger = checked("danger")[0];
    if (danger) params.set("danger", danger);
    const age = checked("age")[0];
    if (age) params.set("age", age);
    for (const c of checked("concerns")) params.append("concerns", c);
    const mine = ++asked;
    let body;
    try {
      const resp = await fetch(`/console/priority?${params}`, { headers: { Accept: "application/json" } });
      if (!resp.ok) return;
      body = await resp.json();
    } catch (e) {
      return; // the receipt will say it
    }
    if (mine !== asked) return; // a later answer is on its way
    const p0 = body.priority === "P0";
    value.textContent = body.priority ? body.label : value.dataset.none;
    priority.classList.toggle("p0", p0);
    priority.dataset.priority = body.priority || "";
    advice.hidden = !p0;
  }

  form.addEventListener("change", (event) => {
    const name = event.target && event.target.name;
    if (name === "danger" || name === "age" || name === "concerns") showPriority();
    if (name === "place_code" && event.target.type === "radio") clearChosen();
  });

  // ---- the place: a combobox over the matcher's candidates ----
  const input = document.getElementById("place");
  const code = document.getElementById("place-code");
  const list = document.getElementById("place-list");
  const chosen = document.getElementById("place-chosen");
  let options = [];
  let active = -1;
  let timer = null;
  let sent = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function clearChosen() {
    code.value = "";
    chosen.textContent = "";
  }

  function mark(index) {
    active = index;
    Array.from(list.children).forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      const li = list.children[index];
      input.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    }
  }

  function pick(index) {
    const c = options[index];
    if (!c) return;
    input.value = c.name;
    code.value = c.code;
    chosen.textContent = `✓ ${c.name}${c.outside ? ` · ${outsideWord}` : ""}`;
    // A suggestion taken replaces a choice the server offered before.
    for (const radio of form.querySelectorAll('input[type=radio][name="place_code"]')) radio.checked = false;
    close();
  }

  function show(candidates, q) {
    options = candidates;
    list.dataset.q = q; // which words these places answer
    list.replaceChildren();
    candidates.forEach((c, i) => {
      const li = document.createElement("li");
      li.id = `place-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.code = c.code;
      li.textContent = c.name;
      if (c.outside) {
        const note = document.createElement("span");
        note.className = "outside";
        note.textContent = ` · ${outsideWord}`;
        li.appendChild(note);
      }
      li.addEventListener("mousedown", (e) => {
        e.preventDefault(); // keep the focus in the input
        pick(i);
      });
      list.appendChild(li);
    });
    const open = candidates.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    active = -1;
  }

  async function suggest() {
    const q = input.value.trim();
    const mine = ++sent;
    if (q.length < 2) {
      show([], q);
      return;
    }
    try {
      const resp = await fetch(`/console/places?${new URLSearchParams({ q: q, lang: lang })}`, {
        headers: { Accept: "application/json" },
      });
      if (!resp.ok) return;
      const body = await resp.json();
      if (mine === sent) show(body.candidates || [], q);
    } catch (e) {
      // Without suggestions the typed words are matched when the call is filed.
    }
  }

  input.addEventListener("input", () => {
    clearChosen();
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });

  input.addEventListener("keydown", (e) => {
    const open = !list.hidden && options.length > 0;
    if (e.key === "ArrowDown") {
      if (!open) return;
      e.preventDefault();
      mark(active < options.length - 1 ? active + 1 : 0);
    } else if (e.key === "ArrowUp") {
      if (!open) return;
      e.preventDefault();
      mark(active > 0 ? active - 1 : options.length - 1);
    } else if (e.key === "Enter" && open) {
      // Enter takes the highlighted place; with none highlighted it highlights the first,
      // so a call is never filed with a place the operator did not see.
      e.preventDefault();
      if (active >= 0) pick(active);
      else mark(0);
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      close();
    }
  });

  input.addEventListener("blur", () => setTimeout(close, 150));

  // ---- Ctrl+Enter in the story files the call (Enter alone is a new line there) ----
  const story = document.getElementById("story");
  story.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  if (checked("danger").length) showPriority();
})();
