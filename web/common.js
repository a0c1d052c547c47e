// memstudy's page: what both pages use - the data, number formats, sortable tables, the
// tooltip, sections and the nav. Plain DOM, no framework.
"use strict";

const ms = (function () {
	// The page's data: gzipped JSON in base64 (user/output/html.c), unpacked by the
	// browser's own gzip (a data: URL read by fetch, through DecompressionStream).
	async function load() {
		const e = document.getElementById("memstudy-data");
		if (e.type === "application/json")
			return JSON.parse(e.textContent);
		const packed = await fetch("data:application/gzip;base64," + e.textContent.trim());
		const text = await new Response(packed.body.pipeThrough(new DecompressionStream("gzip"))).text();
		return JSON.parse(text);
	}

	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === undefined || v === null || v === false)
				continue;
			if (k === "class")
				e.className = v;
			else if (k === "text")
				e.textContent = v;
			else if (k.startsWith("on"))
				e.addEventListener(k.slice(2), v);
			else
				e.setAttribute(k, v === true ? "" : v);
		}
		for (const k of kids.flat())
			if (k !== undefined && k !== null && k !== false)
				e.append(k instanceof Node ? k : document.createTextNode(String(k)));
		return e;
	}

	// 1536 -> "1.5 KiB": binary units, as the text report prints them
	function bytes(v) {
		if (v === undefined || v === null || isNaN(v))
			return "";
		const u = ["B", "KiB", "MiB", "GiB", "TiB"];
		let i = 0, x = Math.abs(v);
		while (x >= 1024 && i < u.length - 1) {
			x /= 1024;
			i++;
		}
		const s = i === 0 ? String(Math.round(x)) : x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0);
		return (v < 0 ? "-" : "") + s + " " + u[i];
	}

	// nanoseconds as "812 ns", "3.4 µs", "12.5 ms", "2.31 s"
	function ns(v) {
		if (v === undefined || v === null || isNaN(v))
			return "";
		const a = Math.abs(v);
		if (a < 1e3)
			return Math.round(v) + " ns";
		if (a < 1e6)
			return (v / 1e3).toFixed(a < 1e4 ? 2 : 1) + " µs";
		if (a < 1e9)
			return (v / 1e6).toFixed(a < 1e7 ? 2 : 1) + " ms";
		return (v / 1e9).toFixed(2) + " s";
	}

	function count(v) {
		if (v === undefined || v === null || isNaN(v))
			return "";
		return Number(v).toLocaleString("en-US");
	}

	function pct(part, whole) {
		return whole ? (100 * part / whole).toFixed(part / whole < 0.1 ? 2 : 1) + "%" : "";
	}

	// One frame's place in the source: "file.c:12" (the file's last part), or its module.
	function where(loc) {
		if (!loc)
			return "";
		if (loc.file)
			return loc.file.split("/").pop() + (loc.line ? ":" + loc.line : "");
		if (loc.module)
			return loc.module + (loc.module_offset !== undefined ? "+0x" + loc.module_offset.toString(16) : "");
		return loc.address || "";
	}

	const tip = document.getElementById("tip");
	function showTip(event, content) {
		tip.replaceChildren(content);
		tip.hidden = false;
		const pad = 14, r = tip.getBoundingClientRect();
		let x = event.clientX + pad, y = event.clientY + pad;
		if (x + r.width > window.innerWidth)
			x = Math.max(0, event.clientX - r.width - pad);
		if (y + r.height > window.innerHeight)
			y = Math.max(0, event.clientY - r.height - pad);
		tip.style.left = x + "px";
		tip.style.top = y + "px";
	}
	function hideTip() {
		tip.hidden = true;
	}

	// A section of the page and its entry in the nav.
	function section(id, title, why) {
		const s = el("section", {class: "view", id: id}, el("h2", {text: title}));
		if (why)
			s.append(el("p", {class: "why", text: why}));
		document.getElementById("main").append(s);
		document.getElementById("nav").append(el("a", {href: "#" + id, text: title}));
		return s;
	}

	/*
	 * A table sorted by a click on a column's head (again: the other way). COLS: {title,
	 * value(row) (what it sorts by), show(row) (text or a node; default the value),
	 * num (right-aligned, sorted high first), tip}. OPTS: {sort: column index, limit}.
	 */
	function table(cols, rows, opts) {
		opts = opts || {};
		const t = el("table", {class: "sortable"});
		const head = el("tr");
		const body = el("tbody");
		let by = opts.sort === undefined ? -1 : opts.sort, desc = by >= 0 && !!cols[by].num;
		let limit = opts.limit || 100;
		const more = el("button", {class: "more"});

		function cmp(a, b) {
			const x = cols[by].value(a), y = cols[by].value(b);
			if (typeof x === "number" && typeof y === "number")
				return x - y;
			return String(x).localeCompare(String(y));
		}
		function render() {
			const v = by >= 0 ? rows.slice().sort(cmp) : rows.slice();
			if (desc)
				v.reverse();
			body.replaceChildren(...v.slice(0, limit).map(r => el("tr", {},
				cols.map(c => {
					const shown = c.show ? c.show(r) : c.value(r);
					return el("td", {class: c.num ? "n" : null}, shown);
				}))));
			head.querySelectorAll("th").forEach((th, i) => {
				th.classList.toggle("asc", i === by && !desc);
				th.classList.toggle("desc", i === by && desc);
			});
			more.hidden = rows.length <= limit;
			more.textContent = "show all " + count(rows.length) + " rows";
		}
		cols.forEach((c, i) => head.append(el("th", {
			title: c.tip, text: c.title,
			onclick: () => {
				desc = by === i ? !desc : !!c.num;
				by = i;
				render();
			},
		})));
		more.addEventListener("click", () => {
			limit = rows.length;
			render();
		});
		t.append(el("thead", {}, head), body);
		render();
		return el("div", {}, el("div", {class: "tablewrap"}, t), more);
	}

	// Figures in a row: [[value text, what it is], ...]
	function figures(list) {
		return el("div", {class: "figures"},
			list.map(([v, what]) => el("div", {class: "figure"}, el("b", {text: v}), el("span", {text: what}))));
	}

	// Errors in the page's own code are said on the page, not only in the console.
	function said(message) {
		const m = document.getElementById("main");
		if (m)
			m.prepend(el("p", {class: "warn", text: "This page failed to draw a view: " + message}));
	}
	window.addEventListener("error", e => said(e.message));
	window.addEventListener("unhandledrejection", e => said(String(e.reason)));

	// The libraries' licenses, at the foot of the page.
	function licenses() {
		const t = document.getElementById("licenses");
		if (!t)
			return;
		const box = el("div", {hidden: true}, t.content.cloneNode(true));
		document.body.append(el("footer", {class: "note"}, "Drawn by memstudy with bundled libraries: ",
			el("a", {href: "#", onclick: e => {
				e.preventDefault();
				box.hidden = !box.hidden;
			}, text: "their licenses"}), box));
	}

	const api = {el, bytes, ns, count, pct, where, showTip, hideTip, section, table, figures};
	// ms.ready: the page's data has been read (ms.data); each page draws once it is
	api.ready = load().then(d => {
		api.data = d;
		licenses();
		return d;
	});
	return api;
})();
