/*
 * report_html_chart: the chart helpers of the HTML report's scripts, written once for both the
 * page's script (report_html_page.h) and the serving section's (report_html_serve.h). Each script
 * is its own function scope, so each pastes the helpers in (C string literals joined at compile
 * time: the page holds the same bytes as when each script spelt them out):
 *   REPORT_HTML_CHART_THEME     css, v(name) (a CSS variable), palette, fg, grid, shade
 *   REPORT_HTML_CHART_FMT_AXIS  fmt(x, d) (a number with d decimals, '—' when absent) and
 *                               axis(label, extra) (a uPlot axis in the page's colours)
 *   REPORT_HTML_CHART_WIDTH     a chart's width from its element el (at least 300 px)
 *   REPORT_HTML_CHART_CARD      card(parent, title, note): a titled card, returns the chart's div
 *   REPORT_HTML_CHART_MAKE(w, list)  make(el, name, opts, d): a uPlot of width w in el, named for
 *                               the page's self-check and pushed onto the script's list
 * Every text goes through textContent or the canvas, never HTML.
 */
#ifndef OSTEL_REPORT_HTML_CHART_H
#define OSTEL_REPORT_HTML_CHART_H

#define REPORT_HTML_CHART_THEME                                                                    \
    "  var css = getComputedStyle(document.documentElement);\n"                                    \
    "  function v(name) { return css.getPropertyValue(name).trim(); }\n"                           \
    "  var palette = [v('--c1'), v('--c2'), v('--c3'), v('--c4'), v('--c5'), v('--c6')];\n"        \
    "  var fg = v('--muted'), grid = v('--grid'), shade = v('--shade');\n"

#define REPORT_HTML_CHART_FMT_AXIS                                                                 \
    "  function fmt(x, d) {\n"                                                                     \
    "    if (x === null || x === undefined || !isFinite(x)) return '—';\n"                       \
    "    return Number(x).toLocaleString('en-US', { minimumFractionDigits: d, "                    \
    "maximumFractionDigits: d });\n"                                                               \
    "  }\n"                                                                                        \
    "  function axis(label, extra) {\n"                                                            \
    "    var a = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 " \
    "},\n"                                                                                         \
    "              font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' "   \
    "};\n"                                                                                         \
    "    if (label) { a.label = label; a.labelSize = 18; }\n"                                      \
    "    for (var k in extra) a[k] = extra[k];\n"                                                  \
    "    return a;\n"                                                                              \
    "  }\n"

#define REPORT_HTML_CHART_WIDTH "Math.max(300, Math.floor(el.getBoundingClientRect().width))"

#define REPORT_HTML_CHART_CARD                                                                     \
    "  function card(parent, title, note) {\n"                                                     \
    "    var c = document.createElement('div');\n"                                                 \
    "    c.className = 'card';\n"                                                                  \
    "    var t = document.createElement('div');\n"                                                 \
    "    t.className = 'chart-title';\n"                                                           \
    "    t.textContent = title;\n"                                                                 \
    "    c.appendChild(t);\n"                                                                      \
    "    if (note) {\n"                                                                            \
    "      var n = document.createElement('div');\n"                                               \
    "      n.className = 'chart-note';\n"                                                          \
    "      n.textContent = note;\n"                                                                \
    "      c.appendChild(n);\n"                                                                    \
    "    }\n"                                                                                      \
    "    var el = document.createElement('div');\n"                                                \
    "    el.className = 'chart';\n"                                                                \
    "    c.appendChild(el);\n"                                                                     \
    "    parent.appendChild(c);\n"                                                                 \
    "    return el;\n"                                                                             \
    "  }\n"

/* w: the width expression (of el); list: the script's array of charts. Both string literals. */
#define REPORT_HTML_CHART_MAKE(w, list)                                                            \
    "  function make(el, name, opts, d) {\n"                                                       \
    "    opts.width = " w ";\n"                                                                    \
    "    var u = new uPlot(opts, d, el);\n"                                                        \
    "    u.ostelName = name;\n"                                                                    \
    "    " list ".push(u);\n"                                                                      \
    "    return u;\n"                                                                              \
    "  }\n"

#endif
