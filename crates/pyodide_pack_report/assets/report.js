// report.html's script. It draws the data html.rs embedded in #report-data (the format is
// documented on `PageData` in src/html.rs): a treemap of the environment laid out by the vendored
// d3-hierarchy (package -> folder -> file, area = the file's bytes), a search, a detail panel with
// the file's `why` chain, the headline numbers and the sortable per-package table.
// It fetches nothing: everything it needs is in this file.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg"; // a namespace name, not a request
  const STATES = ["dropped", "eager", "lazy"];

  // ---------- small helpers ----------

  /** Decimal units, as the terminal table prints them (format_size in table.rs). */
  function size(bytes) {
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(2) + " MB";
    if (bytes >= 1e3) return (bytes / 1e3).toFixed(1) + " kB";
    return bytes + " B";
  }

  /** An HTML element with attributes and children (strings become text, never markup). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  }

  if (data.error) {
    document.querySelector("main").replaceChildren(el("p", { class: "error" }, "This report cannot be shown: " + data.error));
    document.body.dataset.ready = "1";
    return;
  }

  const files = data.files;
  const links = data.links;
  const archives = data.archives;
  const rootOf = new Map(data.roots.map((r) => [r.f, r]));

  /** How the tool names a file: `python_stdlib.zip:json/__init__.py`, or `app.py` for the app's. */
  const shown = (i) => archives[files[i].a].shown + files[i].p;
  /** Shorter, for the chain: a wheel's files by their path alone (it names the package). */
  const short = (i) => (archives[files[i].a].kind === "wheel" ? files[i].p : shown(i));
  const installPath = (i) => files[i].i || archives[files[i].a].install + files[i].p;
  const stateOf = (i) => STATES[files[i].t];

  /** The links from a root to file i, root first (each file keeps its chain's last link). */
  function chainOf(i) {
    const chain = [];
    let at = i;
    while (files[at].e !== undefined && chain.length <= files.length) {
      const link = links[files[at].e];
      chain.push(link);
      at = link.f;
    }
    return chain.reverse();
  }

  /** The edge kind that put file i in: its chain's last link, or "root". */
  function keptBy(i) {
    if (rootOf.has(i)) return "root (" + rootOf.get(i).k + ")";
    if (files[i].e !== undefined) return links[files[i].e].k;
    return "-";
  }

  // ---------- header: title, headline numbers, legend ----------

  $("entry").textContent = data.entry;
  $("subtitle").textContent = [data.runtime, "record " + data.schema, "pyodide-pack " + data.tool_version].join(" \u00b7 ");
  $("schema").textContent = data.schema;
  for (const h of data.headline) {
    $("headline").append(el("div", { class: "stat" },
      el("div", { class: "label" }, h.label),
      el("div", { class: "value" }, h.value),
      el("div", { class: "note" }, h.note)));
  }
  const counts = [0, 0, 0];
  const areas = [0, 0, 0];
  files.forEach((f) => { counts[f.t] += 1; areas[f.t] += f.v; });
  const legendItem = (state, label) => el("span", {},
    el("span", { class: "swatch", style: "background: var(--" + state + ")" }),
    `${label}: ${counts[STATES.indexOf(state)]} files, ${size(areas[STATES.indexOf(state)])}`);
  $("legend").append(
    legendItem("eager", "eager (downloaded up front)"),
    legendItem("lazy", "lazy (fetched on first read)"),
    legendItem("dropped", "dropped"),
    el("span", {}, "area: " + data.area));

  // ---------- the treemap ----------

  /** package -> folder -> file, as d3.hierarchy wants it. */
  function buildTree() {
    const packages = archives.map((a, index) => ({ name: a.label, kind: "package", archive: index, children: [], dirs: new Map() }));
    files.forEach((f, i) => {
      const parts = f.p.split("/");
      let node = packages[f.a];
      let path = "";
      for (const part of parts.slice(0, -1)) {
        path += part + "/";
        let next = node.dirs.get(part);
        if (!next) {
          next = { name: part + "/", kind: "dir", path, children: [], dirs: new Map() };
          node.dirs.set(part, next);
          node.children.push(next);
        }
        node = next;
      }
      node.children.push({ name: parts[parts.length - 1], kind: "file", file: i });
    });
    const top = { name: "environment", kind: "root", children: packages.filter((p) => p.children.length) };
    // The layout gets at least 1 byte a file (d3's squarify divides by a node's value, and an
    // empty file is a box too); what the page prints is the real sum, `bytes`.
    const root = d3.hierarchy(top)
      .sum((d) => (d.kind === "file" ? Math.max(files[d.file].v, 1) : 0))
      .sort((a, b) => b.value - a.value || a.data.name.localeCompare(b.data.name));
    root.eachAfter((n) => { n.bytes = n.children ? n.children.reduce((s, c) => s + c.bytes, 0) : files[n.data.file].v; });
    return root;
  }

  const tree = buildTree();
  const nodeOf = new Map(tree.descendants().map((n) => [n.data, n]));
  const packageNode = new Map((tree.children || []).map((n) => [n.data.archive, n]));
  const map = $("map");
  const tip = $("tip");
  let zoomed = tree; // the node the treemap shows
  let shownNodes = []; // the nodes drawn (of the laid-out copy), by data-node index
  let selected = null; // the selected file id
  let matches = new Set(); // files the search found

  /** Lays out `zoomed` in the map's current size and draws one rect per file. */
  function draw() {
    const width = Math.max(map.clientWidth, 10);
    const height = Math.max(map.clientHeight, 10);
    // d3's treemap lays out a root at depth 0, so a zoomed-in folder is laid out as a copy (the
    // copy's nodes share `data` with the tree's: `nodeOf` leads back).
    const view = zoomed.copy();
    const total = view.value || 1;
    // A folder box big enough gets a 14px band for its name (click it to zoom in).
    const band = (node) => {
      if (node === view || !node.children) return 0;
      const area = (node.value / total) * width * height;
      return node.depth <= 4 && area > 2600 ? 14 : 1;
    };
    const edge = (node) => (node === view ? 0 : 1);
    d3.treemap()
      .tile(d3.treemapSquarify)
      .size([width, height])
      .paddingTop(band)
      .paddingRight(edge)
      .paddingBottom(edge)
      .paddingLeft(edge)
      .paddingInner(0)(view);

    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "treemap of " + nodeName(zoomed) });
    shownNodes = view.descendants().filter((n) => n !== view);
    shownNodes.forEach((node, index) => {
      const w = node.x1 - node.x0;
      const h = node.y1 - node.y0;
      if (node.children) {
        const isPackage = node.data.kind === "package";
        root.append(svg("rect", { class: isPackage ? "dir package" : "dir", x: node.x0, y: node.y0, width: w, height: h, "data-node": index }));
        const header = band(node);
        if (header > 1) {
          root.append(svg("rect", { class: "band", x: node.x0, y: node.y0, width: w, height: header, "data-node": index }));
          const label = fit(node.data.name + "  " + size(nodeOf.get(node.data).bytes), w - 6, 6.4);
          if (label) {
            const text = svg("text", { class: isPackage ? "dir-label package" : "dir-label", x: node.x0 + 3, y: node.y0 + 11 });
            text.textContent = label;
            root.append(text);
          }
        }
      } else if (node.data.kind === "file") {
        const i = node.data.file;
        const classes = ["file", stateOf(i)];
        if (matches.has(i)) classes.push("match");
        if (i === selected) classes.push("selected");
        root.append(svg("rect", { class: classes.join(" "), x: node.x0, y: node.y0, width: Math.max(w, 0), height: Math.max(h, 0), "data-file": i, "data-state": stateOf(i) }));
        if (w > 44 && h > 14) {
          const label = fit(node.data.name, w - 6, 6);
          if (label) {
            const text = svg("text", { class: "file-label " + stateOf(i), x: node.x0 + 3, y: node.y0 + 11 });
            text.textContent = label;
            root.append(text);
          }
        }
      }
    });
    map.replaceChildren(root);
    drawCrumbs();
  }

  /** `text` cut to what fits in `room` pixels at about `perChar` pixels a character. */
  function fit(text, room, perChar) {
    const chars = Math.floor(room / perChar);
    if (chars < 3) return "";
    return text.length <= chars ? text : text.slice(0, chars - 1) + "\u2026";
  }

  function nodeName(node) {
    if (node.data.kind === "dir") return node.data.path;
    return node.data.name;
  }

  /** environment / package / folder: each but the last zooms out to it. */
  function drawCrumbs() {
    const crumbs = $("crumbs");
    crumbs.replaceChildren();
    const path = zoomed.ancestors().reverse();
    path.forEach((node, index) => {
      if (index > 0) crumbs.append(el("span", { class: "sep" }, "/"));
      const name = node.data.name;
      if (index === path.length - 1) crumbs.append(el("strong", {}, name + " (" + size(node.bytes) + ")"));
      else crumbs.append(el("button", { type: "button", onclick: () => zoomTo(node) }, name));
    });
  }

  /** Marks the selected file and the search's matches on the boxes drawn. */
  function mark() {
    map.querySelectorAll("rect.file").forEach((rect) => {
      const i = Number(rect.dataset.file);
      rect.classList.toggle("match", matches.has(i));
      rect.classList.toggle("selected", i === selected);
    });
  }

  function zoomTo(node) {
    zoomed = node;
    hideTip();
    draw();
  }

  map.addEventListener("click", (event) => {
    const target = event.target;
    if (target.dataset.file !== undefined) select(Number(target.dataset.file), false);
    else if (target.dataset.node !== undefined) zoomTo(nodeOf.get(shownNodes[Number(target.dataset.node)].data));
  });

  // Hover: the file, its tier and the edge kind that kept it.
  map.addEventListener("mousemove", (event) => {
    const target = event.target;
    if (target.dataset.file === undefined && target.dataset.node === undefined) return hideTip();
    tip.replaceChildren();
    if (target.dataset.file !== undefined) {
      const i = Number(target.dataset.file);
      const f = files[i];
      tip.append(el("div", {}, el("strong", {}, shown(i))),
        el("div", {}, `${stateOf(i)} \u00b7 ${size(f.v)}`, f.m ? ` \u00b7 ${f.m}` : ""),
        f.t === 0
          ? el("div", {}, "dropped: ", data.reasons[f.r])
          : el("div", {}, "kept by: ", el("span", { class: "k" }, keptBy(i))));
    } else {
      const node = nodeOf.get(shownNodes[Number(target.dataset.node)].data);
      tip.append(el("div", {}, el("strong", {}, nodeName(node))), el("div", {}, `${size(node.bytes)} \u00b7 ${node.leaves().length} files \u00b7 click to zoom in`));
    }
    const box = $("map-section").getBoundingClientRect();
    tip.hidden = false;
    let x = event.clientX - box.left + 12;
    const y = event.clientY - box.top + 14;
    if (x + tip.offsetWidth > box.width) x = Math.max(0, event.clientX - box.left - tip.offsetWidth - 8);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  });
  map.addEventListener("mouseleave", hideTip);
  function hideTip() { tip.hidden = true; }

  let pending = false;
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  });

  // ---------- the detail panel: why a file is in, or why not ----------

  function fileButton(i) {
    return el("button", { type: "button", class: "file-link", title: shown(i), onclick: () => select(i, true) }, short(i));
  }

  /** How a root came to be one: the entry script, or the boot set and why. */
  const rootText = (root) => (root.k === "entry script" ? root.w : `${root.k}: ${root.w}`);

  /** Shows file i in the detail panel and marks its box; `reveal` zooms to it if it is not shown. */
  function select(i, reveal) {
    selected = i;
    if (reveal && !zoomed.leaves().some((n) => n.data.file === i)) zoomTo(packageNode.get(files[i].a) || tree);
    else mark();
    const f = files[i];
    const state = stateOf(i);
    const detail = $("detail");
    const facts = el("dl", {},
      el("dt", {}, "module"), el("dd", {}, f.m || "-"),
      el("dt", {}, "kind"), el("dd", {}, f.k),
      el("dt", {}, "install path"), el("dd", {}, installPath(i)),
      f.l ? [el("dt", {}, "deployed as"), el("dd", {}, `${f.l[0]} (${size(f.l[1])} brotli, served on its own)`)] : null,
      el("dt", {}, "size"), el("dd", {}, `${size(f.s)} unpacked, ${size(f.c)} compressed`),
      el("dt", {}, "box area"), el("dd", {}, size(f.v)),
      el("dt", {}, "kept by"), el("dd", {}, f.t === 0 ? "- (not kept)" : el("span", { class: "kind" }, keptBy(i))));
    const chain = chainOf(i);
    const parts = [
      el("h3", {}, shown(i)),
      el("p", { class: "why" }, el("span", { class: "state " + state }, state), " ", data.reasons[f.r]),
      facts,
    ];
    const root = chain.length ? rootOf.get(chain[0].f) : rootOf.get(i);
    if (f.t !== 0 || chain.length) {
      parts.push(el("h4", {}, f.t === 0 ? "static analysis reaches it by (but the pack drops it):" : "why: its chain from a root"));
      if (root) parts.push(el("p", { class: "root" }, "root: ", fileButton(root.f), ` (${rootText(root)})`));
      if (!chain.length) parts.push(el("p", {}, "it is a root itself"));
      // One item per link: the importing file:line, the edge kind and the source line; the last
      // link names the file itself.
      parts.push(el("ol", { class: "chain", id: "chain" }, chain.map((link, n) => el("li", {},
        el("span", { class: "site" }, fileButton(link.f), link.l !== undefined ? ":" + link.l : ""), " ",
        el("span", { class: "kind" }, link.k), link.o ? " optional" : "", link.s ? " nested" : "",
        el("code", {}, link.x || link.n),
        n === chain.length - 1 ? el("span", { class: "to" }, "\u2192 ", el("strong", {}, short(link.t))) : null))));
    }
    detail.replaceChildren(...parts);
    detail.dataset.file = String(i);
  }

  // ---------- search by file or module ----------

  const lower = files.map((f, i) => ({ m: (f.m || "").toLowerCase(), p: shown(i).toLowerCase(), base: f.p.slice(f.p.lastIndexOf("/") + 1).toLowerCase() }));

  /** The files whose module or path matches `query`, best first: exact module, path, prefix, substring. */
  function find(query) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const found = [];
    lower.forEach((x, i) => {
      let score;
      if (x.m === q) score = 0;
      else if (x.p === q || x.p.endsWith(":" + q) || x.p.endsWith("/" + q)) score = 1;
      else if (x.m.startsWith(q)) score = 2;
      else if (x.base.startsWith(q)) score = 3;
      else if (x.m.includes(q) || x.p.includes(q)) score = 4;
      else return;
      found.push([score, files[i].t === 0 ? 1 : 0, x.p.length, i]);
    });
    found.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]);
    return found.map((x) => x[3]);
  }

  const search = $("search");
  const results = $("results");
  let found = [];
  let active = 0;

  function showResults() {
    found = find(search.value);
    matches = new Set(found.slice(0, 500));
    active = 0;
    results.replaceChildren();
    if (!search.value.trim()) {
      results.hidden = true;
    } else {
      if (!found.length) results.append(el("li", { class: "none" }, "no file or module matches"));
      found.slice(0, 50).forEach((i, index) => results.append(el("li", {
        role: "option", "data-file": i, "aria-selected": index === 0 ? "true" : "false",
        onmousedown: (event) => { event.preventDefault(); pick(i); },
      }, el("span", { class: "swatch", style: "background: var(--" + stateOf(i) + ")" }), shown(i), files[i].m ? "  (" + files[i].m + ")" : "")));
      if (found.length > 50) results.append(el("li", { class: "none" }, `\u2026 and ${found.length - 50} more`));
      results.hidden = false;
    }
    mark();
  }

  function pick(i) {
    results.hidden = true;
    select(i, true);
  }

  search.addEventListener("input", showResults);
  search.addEventListener("keydown", (event) => {
    const items = results.querySelectorAll("li[data-file]");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!items.length) return;
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach((li, index) => li.setAttribute("aria-selected", index === active ? "true" : "false"));
      items[active].scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      if (items.length) pick(Number(items[active].dataset.file));
    } else if (event.key === "Escape") {
      results.hidden = true;
    }
  });
  search.addEventListener("blur", () => { results.hidden = true; });
  search.addEventListener("focus", () => { if (search.value.trim()) results.hidden = false; });

  // ---------- the per-package table (the terminal's), sortable ----------

  function drawTable() {
    const table = $("packages");
    const t = data.table;
    let order = null; // [column, direction]
    const head = el("tr", {}, t.columns.map((name, column) => el("th", {
      scope: "col", tabindex: "0",
      onclick: () => sortBy(column),
      onkeydown: (event) => { if (event.key === "Enter") sortBy(column); },
    }, name)));
    const body = el("tbody", {});
    const rowOf = (row) => el("tr", {
      onclick: () => {
        const node = row.archive !== undefined ? packageNode.get(row.archive) : null;
        if (node) { zoomTo(node); $("map-section").scrollIntoView({ block: "nearest" }); }
      },
    }, row.cells.map((cell) => el("td", {}, cell[0])));
    const fill = (rows) => body.replaceChildren(...rows.map(rowOf));
    function sortBy(column) {
      const direction = order && order[0] === column ? -order[1] : column === 0 ? 1 : -1;
      order = [column, direction];
      const rows = t.rows.slice().sort((a, b) => {
        const x = column === 0 ? a.cells[0][0].localeCompare(b.cells[0][0]) : a.cells[column][1] - b.cells[column][1];
        return x * direction;
      });
      fill(rows);
      head.querySelectorAll("th").forEach((th, index) => {
        if (index === column) th.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      });
    }
    fill(t.rows);
    table.append(el("thead", {}, head), body);
    if (t.total) table.append(el("tfoot", {}, el("tr", {}, t.total.cells.map((cell) => el("td", {}, cell[0])))));
    if (data.warnings.length) {
      $("warnings").append(el("h2", {}, "Warnings"), el("ul", {}, data.warnings.map((w) => el("li", {}, w))));
    }
  }

  drawTable();
  draw();
  document.body.dataset.ready = "1";
})();
