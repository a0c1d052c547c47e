/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The files of memstudy's HTML pages, embedded at build time (CMakeLists.txt makes
 * web_assets.S: each file with .incbin between two symbols). web/ holds memstudy's own;
 * web/vendor/ the libraries web/fetch.sh takes from the npm registry.
 */
#ifndef MEMSTUDY_OUTPUT_HTML_ASSETS_H
#define MEMSTUDY_OUTPUT_HTML_ASSETS_H

#include <stddef.h>

/* X(symbol, file): the list CMakeLists.txt embeds, in the same order. */
#define HTML_ASSETS(X)                                                                             \
	X(page_html, "web/page.html")                                                              \
	X(page_css, "web/page.css")                                                                \
	X(common_js, "web/common.js")                                                              \
	X(report_js, "web/report.js")                                                              \
	X(study_js, "web/study.js")                                                                \
	X(d3_js, "web/vendor/d3/d3.min.js")                                                        \
	X(d3_license, "web/vendor/d3/LICENSE")                                                     \
	X(flamegraph_js, "web/vendor/d3-flame-graph/d3-flamegraph.umd.min.js")                     \
	X(flamegraph_css, "web/vendor/d3-flame-graph/d3-flamegraph.css")                           \
	X(flamegraph_license, "web/vendor/d3-flame-graph/LICENSE")                                 \
	X(uplot_js, "web/vendor/uplot/uPlot.iife.min.js")                                          \
	X(uplot_css, "web/vendor/uplot/uPlot.min.css")                                             \
	X(uplot_license, "web/vendor/uplot/LICENSE")

#define HTML_ASSET_DECLARE(sym, file)                                                              \
	extern const char html_asset_##sym[], html_asset_##sym##_end[];
HTML_ASSETS(HTML_ASSET_DECLARE)
#undef HTML_ASSET_DECLARE

struct html_asset {
	const char *data;
	size_t len;
};

#define HTML_ASSET(sym)                                                                            \
	((struct html_asset){html_asset_##sym, (size_t)(html_asset_##sym##_end - html_asset_##sym)})

#endif
