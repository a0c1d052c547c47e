// memstudy study's page (report.html beside report.md): report.md drawn as HTML - its
// figures embedded, its tables sortable - from the markdown the study wrote, so that the
// page and the file say the same.
"use strict";

ms.ready.then(function () {
	const {data, el} = ms;
	const page = (window.memstudyPage = {data, tables: []});

	// Inline markdown: `code`, **bold**, *italic*, [text](link). Text stays text.
	function inline(text) {
		const out = [];
		const re = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
		let at = 0, m;
		while ((m = re.exec(text))) {
			if (m.index > at)
				out.push(text.slice(at, m.index));
			if (m[1] !== undefined)
				out.push(el("code", {text: m[1]}));
			else if (m[2] !== undefined)
				out.push(el("b", {}, inline(m[2])));
			else if (m[3] !== undefined)
				out.push(el("i", {}, inline(m[3])));
			else
				out.push(/^(https?:|#)/.test(m[5]) ? el("a", {href: m[5]}, inline(m[4])) : el("span", {}, inline(m[4])));
			at = re.lastIndex;
		}
		if (at < text.length)
			out.push(text.slice(at));
		return out;
	}

	function cells(line) {
		return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map(c => c.trim());
	}

	// A cell's value to sort by: its leading number ("1.04 (slope...)", "61 %", "1e6"), or
	// its text.
	function sortValue(text) {
		const m = text.replace(/,/g, "").match(/^-?\d+(\.\d+)?(e[+-]?\d+)?/i);
		return m ? parseFloat(m[0]) : text;
	}

	function table(lines) {
		const head = cells(lines[0]);
		const align = cells(lines[1]).map(a => a.endsWith(":"));
		const rows = lines.slice(2).map(cells);
		const t = ms.table(head.map((h, i) => ({
			title: h.replace(/\*/g, ""),
			num: align[i],
			value: r => sortValue(r[i] || ""),
			show: r => el("span", {}, inline(r[i] || "")),
		})), rows, {limit: 1000});
		page.tables.push(t);
		return t;
	}

	function render(md) {
		const out = [];
		const lines = md.split("\n");
		let i = 0, sec = null;
		const put = node => (sec || out).push(node);
		while (i < lines.length) {
			const line = lines[i];
			let m;
			if (line.startsWith("```")) {
				const code = [];
				for (i++; i < lines.length && !lines[i].startsWith("```"); i++)
					code.push(lines[i]);
				i++;
				put(el("pre", {}, el("code", {text: code.join("\n")})));
			} else if ((m = line.match(/^(#{1,4})\s+(.*)$/))) {
				const level = m[1].length;
				const h = el("h" + Math.min(level + 1, 4), {}, inline(m[2]));
				if (level <= 2) {
					const id = m[2].toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
					if (level === 1) {
						document.getElementById("title").textContent = m[2];
					} else {
						sec = [];
						out.push({id, title: m[2], nodes: sec});
					}
					if (level === 1) {
						i++;
						continue;
					}
				} else {
					put(h);
				}
				i++;
			} else if (line.startsWith("|") && i + 1 < lines.length && /^\|[\s:|-]+\|?$/.test(lines[i + 1])) {
				const t = [];
				while (i < lines.length && lines[i].startsWith("|"))
					t.push(lines[i++]);
				put(table(t));
			} else if ((m = line.match(/^!\[([^\]]*)\]\(([^)]+)\)\s*$/))) {
				const src = (data.images || {})[m[2]];
				put(src ? el("figure", {}, el("img", {src, alt: m[1], "data-name": m[2]}))
					: el("p", {class: "muted", text: "(figure " + m[2] + " is not in this page)"}));
				i++;
			} else if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
				const ordered = /^\s*\d+\./.test(line);
				const list = el(ordered ? "ol" : "ul");
				while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i])) {
					let item = lines[i].replace(/^\s*([-*]|\d+\.)\s+/, "");
					for (i++; i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([-*]|\d+\.)\s+/.test(lines[i]); i++)
						item += " " + lines[i].trim();
					list.append(el("li", {}, inline(item)));
				}
				put(list);
			} else if (line.startsWith(">")) {
				const q = [];
				while (i < lines.length && lines[i].startsWith(">"))
					q.push(lines[i++].replace(/^>\s?/, ""));
				put(el("blockquote", {}, inline(q.join(" "))));
			} else if (!line.trim()) {
				i++;
			} else {
				const p = [];
				while (i < lines.length && lines[i].trim() && !/^(#|\||```|!\[|>|\s*([-*]|\d+\.)\s)/.test(lines[i]))
					p.push(lines[i++]);
				if (!p.length)
					p.push(lines[i++]);
				put(el("p", {}, inline(p.join(" "))));
			}
		}
		return out;
	}

	const main = document.getElementById("main");
	const parts = render(data.markdown || "");
	const intro = el("section", {class: "view md", id: "summary"});
	main.append(intro);
	for (const p of parts) {
		if (p instanceof Node) {
			intro.append(p);
			continue;
		}
		const s = ms.section(p.id, p.title);
		s.classList.add("md");
		s.append(...p.nodes);
	}
	if (data.source && data.source.dir)
		document.getElementById("subtitle").textContent = data.source.dir + " \u00b7 report.md, as a page";
	page.drawnMs = performance.now();
	document.body.setAttribute("data-drawn", "1");
});
