// memstudy's page of one recording (memstudy report FILE --html OUT.html): the call sites
// as a flame graph under a weight the reader picks, memory over time with the slow calls
// and the large unmaps marked on it, and the text report's tables, sortable.
"use strict";

ms.ready.then(function () {
	const {data, el, bytes, ns, count, pct, where} = ms;
	const R = data.report || {};
	const PA = R.per_allocation || {};
	const sites = PA.sites || [];
	const PAGE = 4096;
	const page = (window.memstudyPage = {data});

	// What a call site weighs, as the flame graph's switch offers it (the same weights as
	// memstudy report --folded --weight).
	const WEIGHTS = [
		{key: "bytes", title: "bytes allocated", fmt: bytes, of: s => s.bytes},
		{key: "live", title: "live at the end (leaks)", fmt: bytes, of: s => s.live_bytes_at_end},
		{key: "faults", title: "page faults", fmt: count, of: s => s.page_faults},
		{key: "resident", title: "resident bytes", fmt: bytes, of: s => s.live_faulted_pages * PAGE},
		{key: "kernel_ns", title: "kernel time inside calls", fmt: ns, of: s => s.kernel_ns},
		{key: "calls", title: "calls", fmt: count, of: s => s.allocations},
	];

	function siteTitle(s) {
		return s.title || (s.frames && s.frames[0]) || "[unknown]";
	}
	function siteChain(s) {
		return (s.frames || []).join(" \u2190 ");
	}

	function subtitle() {
		const src = data.source || {};
		const parts = [];
		if (src.command && src.command.length)
			parts.push(src.command.join(" "));
		if (R.target)
			parts.push("pid " + R.target.pid + ", allocator " + (R.target.allocator || "?").split("/").pop());
		if (src.recorded)
			parts.push("recorded " + src.recorded + (src.hostname ? " on " + src.hostname : ""));
		if (R.duration_s !== undefined)
			parts.push(R.duration_s.toFixed(3) + " s traced");
		if (src.file)
			parts.push(src.file);
		document.getElementById("subtitle").textContent = parts.join(" \u00b7 ");
	}

	// The slow calls of every function, with the function's name on each.
	function slowCalls() {
		const v = [];
		for (const [fn, f] of Object.entries(R.functions || {}))
			for (const c of f.slowest || [])
				v.push(Object.assign({fn}, c));
		return v.sort((a, b) => b.ns - a.ns);
	}

	/* At a glance: the figures, and the few call sites that own the pages, the leaked bytes
	 * and the slowest calls, drawn as bars. */
	function overview() {
		const s = ms.section("overview", "At a glance",
			"Which call sites own the faulted pages and the bytes still allocated at the end, and which calls were slow. Each bar is its share of the whole; the views below have the rest.");
		const f = PA.faults || {};
		const requested = Object.values(R.functions || {}).reduce((sum, fn) => sum + (fn.bytes || 0), 0);
		s.append(ms.figures([
			[count(PA.allocations || 0), "allocations"],
			[count(PA.frees), "frees"],
			[bytes(requested), "requested"],
			[count(f.total), "page faults"],
			[count(f.in_allocations), "of them in allocated blocks"],
			[count(PA.live_at_end), "blocks live at the end"],
			[count(R.lost_events || 0), "records lost"],
		]));
		if (R.lost_events)
			s.append(el("p", {class: "warn", text: "The kernel dropped " + count(R.lost_events) + " records: the counts below miss them."}));
		const cards = el("div", {class: "cards"});
		s.append(cards);
		const bars = (title, list, value, fmt, label, total) => {
			const c = el("div", {class: "card"}, el("h3", {text: title}));
			const top = list.filter(x => value(x) > 0).sort((a, b) => value(b) - value(a)).slice(0, 6);
			const max = top.length ? value(top[0]) : 0;
			if (!top.length)
				c.append(el("p", {class: "muted", text: "none"}));
			for (const x of top)
				c.append(el("div", {class: "bar-row", title: label(x, true)},
					el("div", {class: "bar"},
						el("span", {class: "fill", style: "width:" + (100 * value(x) / max).toFixed(1) + "%"}),
						el("span", {class: "label", text: label(x, false)})),
					el("div", {class: "num", text: fmt(value(x)) + (total ? " \u00b7 " + pct(value(x), total) : "")})));
			cards.append(c);
		};
		// a site by its title and its caller: many sites share an allocator wrapper's name
		const siteLabel = (x, long) => long ? siteChain(x) :
			siteTitle(x) + (x.frames && x.frames.length > 1 ? " \u2190 " + x.frames[x.frames.indexOf(siteTitle(x)) + 1 || 1] : "");
		bars("Who owns the faulted pages", sites, x => x.page_faults, count, siteLabel, f.total);
		bars("Still allocated at the end", sites, x => x.live_bytes_at_end, bytes, siteLabel, 0);
		bars("Resident in what is still allocated", sites, x => x.live_faulted_pages * PAGE, bytes, siteLabel, 0);
		bars("The slowest calls", slowCalls(), x => x.ns, ns,
			(x, long) => x.fn + "(" + (x.bytes ? bytes(x.bytes) : "") + ") at " + (x.t_ns / 1e9).toFixed(3) + " s" +
				(x.syscalls && x.syscalls.length ? ": " + x.syscalls.map(y => y.name).join(", ") : "") +
				(x.faults ? ", " + x.faults + " faults" : "") + (long ? " \u2190 " + (x.frames || []).join(" \u2190 ") : ""), 0);
	}

	/* The flame graph: a tree of the call sites' stacks, each frame as wide as the weight
	 * of the sites under it. */
	function flameTree() {
		const root = {name: "all", vals: WEIGHTS.map(() => 0), kids: new Map(), loc: null};
		for (const s of sites) {
			const vals = WEIGHTS.map(w => w.of(s) || 0);
			const frames = s.frames && s.frames.length ? s.frames : ["[unknown]"];
			let n = root;
			vals.forEach((v, i) => (root.vals[i] += v));
			for (let i = frames.length - 1; i >= 0; i--) {
				let k = n.kids.get(frames[i]);
				if (!k) {
					k = {name: frames[i], vals: WEIGHTS.map(() => 0), kids: new Map(),
						loc: s.locations ? s.locations[i] : null};
					n.kids.set(frames[i], k);
				}
				vals.forEach((v, j) => (k.vals[j] += v));
				n = k;
			}
		}
		return root;
	}
	// The tree under weight W, for d3-flame-graph: frames weighing nothing left out.
	function weighed(n, w) {
		const kids = [];
		for (const k of n.kids.values())
			if (k.vals[w] > 0)
				kids.push(weighed(k, w));
		return {name: n.name, value: n.vals[w], vals: n.vals, loc: n.loc, children: kids};
	}

	function flame() {
		const s = ms.section("flame", "Call sites as a flame graph",
			"Each box is a function; its width is the weight of the allocations made under it, its callers below it. Pick the weight; click a box to zoom into it, click the bottom box to zoom out; hover for its numbers and source line; search highlights matching functions.");
		// the UMD bundle's namespace: its factory is the default export
		const factory = typeof flamegraph === "undefined" ? null : flamegraph.default || flamegraph;
		if (!sites.length || typeof factory !== "function") {
			s.append(el("p", {class: "muted", text: sites.length ? "The flame graph library did not load." : "No call sites were recorded."}));
			return;
		}
		const tree = flameTree();
		const controls = el("div", {class: "controls", id: "flame-weights"});
		const search = el("input", {type: "search", placeholder: "search functions", id: "flame-search"});
		const details = el("div", {id: "flame-details"});
		const box = el("div", {id: "flame-graph"});
		s.append(controls, box, details);
		let w = 0;
		const tip = function () {};
		tip.show = (event, d) => {
			const rows = WEIGHTS.map((x, i) => el("tr", {class: i === w ? "on" : null},
				el("td", {text: x.title}), el("td", {text: x.fmt(d.data.vals[i])}),
				el("td", {text: pct(d.data.vals[i], tree.vals[i])})));
			ms.showTip(event, el("div", {},
				el("b", {text: d.data.name}),
				d.data.loc ? el("div", {class: "loc", text: where(d.data.loc) + (d.data.loc.module ? " (" + d.data.loc.module + ")" : "")}) : "",
				el("table", {}, rows)));
		};
		tip.hide = () => ms.hideTip();
		const chart = factory()
			.width(Math.max(600, Math.min(1450, Math.floor(s.getBoundingClientRect().width) - 4)))
			.cellHeight(18)
			.transitionDuration(250)
			.minFrameSize(1)
			.sort(true)
			.tooltip(tip)
			.setDetailsElement(details)
			.setSearchHandler((res, sum, total) => {
				details.textContent = search.value ? res.length + " frames match \u201c" + search.value + "\u201d: " +
					WEIGHTS[w].fmt(sum) + " of " + WEIGHTS[w].fmt(total) + " (" + pct(sum, total) + ")" : "";
			})
			.setLabelHandler(d => d.data.name + " \u2014 " + WEIGHTS[w].fmt(d.data.vals[w]) + " (" + pct(d.data.vals[w], tree.vals[w]) + ")" +
				(d.data.loc ? " \u2014 " + where(d.data.loc) : ""));
		function show(i) {
			w = i;
			controls.querySelectorAll("label.weight").forEach((l, j) => l.classList.toggle("on", j === i));
			const t = weighed(tree, i);
			if (!t.value) {
				box.replaceChildren(el("p", {class: "muted", text: "No call site has any " + WEIGHTS[i].title + "."}));
				page.flameRoot = null;
				return;
			}
			if (!box.querySelector("svg"))
				box.replaceChildren();
			d3.select(box).datum(t).call(chart);
			page.flameRoot = t;
			page.weight = WEIGHTS[i].key;
			if (search.value)
				chart.search(search.value);
		}
		WEIGHTS.forEach((x, i) => {
			const input = el("input", {type: "radio", name: "weight", value: x.key, checked: i === 0});
			input.addEventListener("change", () => show(i));
			controls.append(el("label", {class: "weight", "data-weight": x.key, title: "total " + x.fmt(tree.vals[i])}, input, x.title));
		});
		search.addEventListener("input", () => (search.value ? chart.search(search.value) : chart.clear()));
		controls.append(search, el("button", {onclick: () => chart.resetZoom(), text: "reset zoom"}));
		page.flame = chart;
		page.weights = WEIGHTS.map(x => x.key);
		page.setWeight = key => {
			const i = WEIGHTS.findIndex(x => x.key === key);
			controls.querySelectorAll("input")[i].checked = true;
			show(i);
		};
		show(0);
	}

	/* Memory over time: the bytes live, what the allocator holds mapped, the resident set;
	 * calls per second; the slowest calls and the large unmaps as marks. */
	function timeline() {
		const s = ms.section("timeline", "Memory over time",
			"Bytes live (as requested), bytes the allocator holds mapped (heap and its mmaps) and the resident set as the kernel counts it, with calls per second on the right. Red marks: the slowest calls; purple (lower half): munmaps and brk shrinks of 64 KiB or more. Drag across the plot to zoom into a span, double-click to zoom out; hover a mark for what it was.");
		const T = data.timeline;
		if (!T || !T.rows || T.rows.length < 1 || typeof uPlot === "undefined") {
			s.append(el("p", {class: "muted", text: "No timeline in this page."}));
			return;
		}
		const col = name => T.columns.indexOf(name);
		const it = col("t_s"), il = col("live_bytes"), im = col("allocator_mapped_bytes"), ir = col("rss_bytes");
		const ia = col("allocs"), ifr = col("frees");
		const x = T.rows.map(r => r[it]);
		const rate = T.rows.map((r, i) => {
			if (!i)
				return null;
			const p = T.rows[i - 1], dt = r[it] - p[it];
			return dt > 0 ? (r[ia] + r[ifr] - p[ia] - p[ifr]) / dt : null;
		});
		const marks = [];
		for (const c of slowCalls().slice(0, 200))
			marks.push({t: c.t_ns / 1e9, kind: "slow", text: c.fn + " took " + ns(c.ns) + (c.bytes ? " for " + bytes(c.bytes) : "") +
				(c.syscalls && c.syscalls.length ? "; inside: " + c.syscalls.map(y => y.name + (y.bytes ? " " + bytes(y.bytes) : "")).join(", ") : "") +
				(c.faults ? "; " + c.faults + " page faults" : "")});
		for (const m of data.markers || [])
			marks.push({t: m.t_s, kind: "unmap", text: m.what + " " + bytes(m.bytes) + (m.in_allocator_call ? " inside an allocator call" : " outside allocator calls")});
		const info = el("div", {class: "legend-markers"}, el("i", {style: "background:#d62728"}), "slowest calls (" + Math.min(200, slowCalls().length) + ")",
			el("i", {style: "background:#9467bd"}), "munmap / brk shrink \u2265 64 KiB (" + (data.markers || []).length + ")", el("span", {id: "mark-info"}));
		const box = el("div", {id: "timeline-plot"});
		s.append(box, info);
		const markPlugin = {
			hooks: {
				draw: u => {
					const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
					ctx.save();
					ctx.lineWidth = Math.max(1, devicePixelRatio);
					for (const m of marks) {
						if (m.t < u.scales.x.min || m.t > u.scales.x.max)
							continue;
						const px = u.valToPos(m.t, "x", true);
						ctx.strokeStyle = m.kind === "slow" ? "rgba(214,39,40,.55)" : "rgba(148,103,189,.7)";
						ctx.beginPath();
						ctx.moveTo(px, m.kind === "slow" ? top : top + h * 0.5);
						ctx.lineTo(px, top + h);
						ctx.stroke();
					}
					ctx.restore();
				},
				setCursor: u => {
					const left = u.cursor.left;
					const out = document.getElementById("mark-info");
					if (left === undefined || left < 0) {
						out.textContent = "";
						return;
					}
					let best = null, bd = 6;
					for (const m of marks) {
						const d = Math.abs(u.valToPos(m.t, "x") - left);
						if (d < bd) {
							bd = d;
							best = m;
						}
					}
					out.textContent = best ? " \u2014 at " + best.t.toFixed(4) + " s: " + best.text : "";
				},
			},
		};
		const width = Math.max(600, Math.min(1450, Math.floor(s.getBoundingClientRect().width) - 4));
		const byteAxis = (u, v) => v.map(y => bytes(y));
		const plot = new uPlot({
			width, height: 360, plugins: [markPlugin],
			scales: {x: {time: false}, rate: {}},
			axes: [
				{label: "seconds into the trace"},
				{values: byteAxis, size: 80},
				{scale: "rate", side: 1, grid: {show: false}, label: "calls/s", size: 70, values: (u, v) => v.map(y => count(Math.round(y)))},
			],
			series: [
				{label: "t (s)", value: (u, v) => (v === null ? "" : v.toFixed(4))},
				{label: "live", stroke: "#e6550d", width: 2, value: (u, v) => bytes(v)},
				{label: "allocator mapped", stroke: "#31a354", width: 1.5, value: (u, v) => bytes(v)},
				{label: "resident (RSS)", stroke: "#3182bd", width: 2, value: (u, v) => bytes(v)},
				{label: "calls/s", scale: "rate", stroke: "rgba(120,120,120,.6)", width: 1, value: (u, v) => (v === null ? "" : count(Math.round(v)))},
			],
		}, [x, T.rows.map(r => r[il]), T.rows.map(r => r[im]), T.rows.map(r => r[ir]), rate], box);
		s.append(el("div", {class: "controls"}, el("button", {onclick: () => plot.setScale("x", {min: x[0], max: x[x.length - 1]}), text: "reset zoom"}),
			el("span", {class: "note", text: count(T.rows.length) + " points, one every " + ns(T.interval_ns) + (T.rss_records ? "" : "; no resident-set records in this recording")})));
		page.plot = plot;
		page.marks = marks;
	}

	function chain(frames, locations) {
		if (!frames || !frames.length)
			return "";
		const first = frames[0] + (locations && locations[0] && where(locations[0]) ? " (" + where(locations[0]) + ")" : "");
		if (frames.length === 1)
			return first;
		return el("details", {}, el("summary", {text: first}),
			el("div", {class: "chain"}, frames.slice(1).map((f, i) => el("div", {text: "\u2190 " + f + (locations && locations[i + 1] && where(locations[i + 1]) ? " (" + where(locations[i + 1]) + ")" : "")}))));
	}

	function slowTable() {
		const v = slowCalls();
		const s = ms.section("slow", "The slowest calls, and what happened inside them",
			"The slowest calls of each function as the kernel side saw them: their time split into user, kernel (syscalls) and off-CPU, the page faults and syscalls made inside, glibc's internal steps, and where they were called from.");
		if (!v.length) {
			s.append(el("p", {class: "muted", text: "No slow calls were recorded."}));
			return;
		}
		s.append(ms.table([
			{title: "function", value: c => c.fn},
			{title: "took", num: true, value: c => c.ns, show: c => ns(c.ns)},
			{title: "at", num: true, value: c => c.t_ns, show: c => (c.t_ns / 1e9).toFixed(4) + " s", tip: "seconds into the trace"},
			{title: "bytes", num: true, value: c => c.bytes || 0, show: c => (c.bytes ? bytes(c.bytes) : "")},
			{title: "user", num: true, value: c => c.user_ns || 0, show: c => ns(c.user_ns)},
			{title: "kernel", num: true, value: c => c.kernel_ns || 0, show: c => ns(c.kernel_ns)},
			{title: "off-CPU", num: true, value: c => c.offcpu_ns || 0, show: c => ns(c.offcpu_ns)},
			{title: "faults", num: true, value: c => c.faults || 0},
			{title: "inside", value: c => (c.syscalls || []).length,
				show: c => [(c.syscalls || []).map(y => y.name + (y.bytes ? " " + bytes(y.bytes) : "") + " " + ns(y.ns)).join(", "),
					(c.internal || []).map(y => y.name + " " + ns(y.ns)).join(", ")].filter(Boolean).join("; ")},
			{title: "tid", num: true, value: c => c.tid},
			{title: "called from", value: c => (c.frames || []).join(";"), show: c => chain(c.frames, c.locations)},
		], v, {sort: 1, limit: 50}));
	}

	function sitesTable() {
		const s = ms.section("sites", "Call sites",
			"Every call site: its allocations, the page faults charged to them, what is still allocated at the end and how much of it is resident, and the syscall time inside its calls. Click a column to sort by it.");
		if (!sites.length) {
			s.append(el("p", {class: "muted", text: "No call sites were recorded."}));
			return;
		}
		s.append(ms.table([
			{title: "call site", value: x => siteChain(x), show: x => chain(x.frames, x.locations)},
			{title: "functions", value: x => (x.functions || []).join(", ")},
			{title: "allocations", num: true, value: x => x.allocations, show: x => count(x.allocations)},
			{title: "bytes", num: true, value: x => x.bytes, show: x => bytes(x.bytes)},
			{title: "page faults", num: true, value: x => x.page_faults, show: x => count(x.page_faults)},
			{title: "max faults / allocation", num: true, value: x => x.max_faults_per_allocation || 0},
			{title: "live blocks", num: true, value: x => x.live_at_end, show: x => count(x.live_at_end)},
			{title: "live bytes", num: true, value: x => x.live_bytes_at_end, show: x => bytes(x.live_bytes_at_end)},
			{title: "resident", num: true, value: x => x.live_faulted_pages * PAGE, show: x => bytes(x.live_faulted_pages * PAGE), tip: "bytes of the pages faulted in its blocks still live at the end"},
			{title: "kernel time", num: true, value: x => x.kernel_ns || 0, show: x => ns(x.kernel_ns)},
		], sites, {sort: 4, limit: 100}));
	}

	function functionsTable() {
		const s = ms.section("functions", "Allocator functions and syscalls",
			"Each allocator function's calls and latency (p50, p99, max), and the kernel work inside its calls; then the memory syscalls.");
		const fns = Object.entries(R.functions || {}).filter(([, f]) => f.calls).map(([name, f]) => Object.assign({name}, f));
		s.append(ms.table([
			{title: "function", value: f => f.name},
			{title: "calls", num: true, value: f => f.calls, show: f => count(f.calls)},
			{title: "bytes", num: true, value: f => f.bytes || 0, show: f => bytes(f.bytes)},
			{title: "failed", num: true, value: f => f.failed || 0},
			{title: "p50", num: true, value: f => f.latency_ns.p50, show: f => ns(f.latency_ns.p50)},
			{title: "p99", num: true, value: f => f.latency_ns.p99, show: f => ns(f.latency_ns.p99)},
			{title: "max", num: true, value: f => f.latency_ns.max, show: f => ns(f.latency_ns.max)},
			{title: "total time", num: true, value: f => f.latency_ns.sum, show: f => ns(f.latency_ns.sum)},
			{title: "syscall time inside", num: true, value: f => f.kernel.syscall_ns, show: f => ns(f.kernel.syscall_ns)},
			{title: "page faults inside", num: true, value: f => f.kernel.page_faults, show: f => count(f.kernel.page_faults)},
		], fns, {sort: 1}));
		const sys = Object.entries(R.syscalls || {}).filter(([, x]) => x.calls).map(([name, x]) => Object.assign({name}, x));
		if (sys.length)
			s.append(el("h3", {text: "Memory syscalls"}), ms.table([
				{title: "syscall", value: x => x.name},
				{title: "calls", num: true, value: x => x.calls, show: x => count(x.calls)},
				{title: "inside allocator calls", num: true, value: x => x.in_alloc_calls || 0},
				{title: "time", num: true, value: x => x.ns, show: x => ns(x.ns)},
				{title: "bytes", num: true, value: x => x.bytes || 0, show: x => bytes(x.bytes)},
				{title: "grown", num: true, value: x => x.grow_bytes || 0, show: x => bytes(x.grow_bytes)},
				{title: "shrunk", num: true, value: x => x.shrink_bytes || 0, show: x => bytes(x.shrink_bytes)},
			], sys, {sort: 3}));
		const procs = R.processes || [];
		if (procs.length > 1)
			s.append(el("h3", {text: "Processes"}), ms.table([
				{title: "pid", num: true, value: p => p.pid},
				{title: "comm", value: p => p.comm || ""},
				{title: "executable", value: p => p.exe || ""},
				{title: "allocator", value: p => (p.allocator || "").split("/").pop()},
				{title: "start", num: true, value: p => p.start_s || 0, show: p => (p.start_s || 0).toFixed(3) + " s"},
				{title: "end", num: true, value: p => p.end_s || 0, show: p => (p.end_s || 0).toFixed(3) + " s"},
			], procs, {sort: 0}));
	}

	// The kind of a /proc/PID/maps line, as memstudy maps names the common ones.
	function mapKind(perms, path) {
		if (path === "[heap]")
			return "brk heap (main arena)";
		if (path === "[stack]")
			return "main thread's stack";
		if (path.startsWith("["))
			return "kernel (" + path.slice(1, -1) + ")";
		if (!path)
			return perms === "---p" ? "guard / reserved (arena or thread stack)" : "anonymous (mmapped chunks, arenas, thread stacks)";
		if (perms.includes("x"))
			return "code";
		return perms.includes("w") ? "data" : "read-only data";
	}

	function mapsView() {
		const A = data.map_at_end || [], M = data.maps;
		if (!A.length && !(M && M.text))
			return;
		const s = ms.section("maps", "Memory map",
			"What the trace saw mapped at its end, from the records of every brk, mmap, munmap and mremap: the brk heap, what the allocator mapped inside its calls (with the live block it holds, for an mmapped chunk), thread stacks, other anonymous memory, files. Mappings older than the trace (memstudy record --pid) are not among them; memstudy maps PID labels a live process in full.");
		if (A.length)
			s.append(ms.table([
				{title: "start", value: r => parseInt(r.start, 16), show: r => r.start},
				{title: "size", num: true, value: r => r.bytes, show: r => bytes(r.bytes)},
				{title: "made by", value: r => r.kind},
				{title: "live block in it at the end", value: r => r.live_block || ""},
			], A, {sort: 0, limit: 400}));
		if (!M || !M.text)
			return;
		const rows = [];
		for (const line of M.text.split("\n")) {
			const m = line.match(/^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s*(.*)$/);
			if (!m)
				continue;
			rows.push({lo: parseInt(m[1], 16), hi: parseInt(m[2], 16), start: m[1], perms: m[3], path: m[4].trim()});
		}
		s.append(el("details", {}, el("summary", {text: "/proc/PID/maps as last read while recording (when a code file was mapped): " + rows.length + " mappings"}),
			ms.table([
				{title: "start", value: r => r.lo, show: r => r.start},
				{title: "size", num: true, value: r => r.hi - r.lo, show: r => bytes(r.hi - r.lo)},
				{title: "perms", value: r => r.perms},
				{title: "kind", value: r => mapKind(r.perms, r.path)},
				{title: "file", value: r => r.path},
			], rows, {sort: 0, limit: 400})));
	}

	// each view drawn in turn, and how long it took (memstudyPage.timings, ms)
	page.timings = {parse: performance.now()};
	for (const [name, draw] of Object.entries({subtitle, overview, flame, timeline, slowTable, sitesTable, functionsTable, mapsView})) {
		const t = performance.now();
		draw();
		page.timings[name] = performance.now() - t;
	}
	if (data.report && data.report.incomplete)
		document.getElementById("main").prepend(el("p", {class: "warn", id: "incomplete",
			text: "Incomplete: " + data.report.incomplete + ". The summary's counters are written at a recording's end, so the views below come from the records read: call sites, memory over time, the map."}));
	page.drawnMs = performance.now();
	document.body.setAttribute("data-drawn", "1");
});
