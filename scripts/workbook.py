#!/usr/bin/env python3
"""Writes ipcbench results as a workbook (.xlsx) with native charts, for LibreOffice Calc and Excel.

    scripts/workbook.py SIDE [SIDE ...] [--ignore KEY] [-o FILE.xlsx]

A side is a results file, or several runs of one setup joined with commas (a1.csv,a2.csv), as for
`ipcbench compare`; a side of several runs shows per case the side's figure as compare computes it
(the `center` of the side's cases in `ipcbench compare --format json`: the geometric mean of its
runs' figures). Results are read only through the binary's JSON (scripts/ipcbench_files.py).

Sheets:
  results              every row of the case file(s) and each column of its version of the results
                       format (its CSV's columns), numbers as numbers, frozen header, autofilter
                       (with several files, a first column `file` names each row's file)
  throughput           MiB/s median: laid out as `ipcbench pivot` writes it, with a line chart beside it
  latency p50, p99     RTT p50 and p99 in us, likewise
  sync-message, sync-message ack p50
                       MiB/s and send-to-acknowledgement p50 in us against payload
  duplex               MiB/s (both directions) against payload
  async-request, fanout, pairs
                       requests/s, MiB/s, MiB/s against depth, receivers, pairs at one payload
                       (`ipcbench pivot --rows parameter`: the largest payload at which every
                       column has a value); a line per transport and placement
(a sheet only for the patterns the files hold; the rate offered and the wait mode are case
dimensions: `pipe split rate 10k/s wait block` and `pipe split rate 100k/s wait block` are two series)
  <pattern> load       for each pattern with cases at a rate (`ipcbench run --rate`): latency against
                       load, a row per case (its line, offered and achieved rate, late share, pacing
                       overshoot, the corrected p50/p99/p99.9 and the uncorrected p99.9) and a log-log
                       chart of the corrected p99 (solid) and p50 (dashed) against the rate achieved,
                       a line per transport, placement, payload, wait mode and side, saturated points
                       in red (as scripts/plot.py rings them)
  compare              with two or more sides: `ipcbench compare --format json` against the first
                       side (with --ignore as given), the columns `--format csv` writes, a case
                       label and the interval's arms, significant changes green (better) or red
                       (worse), and a bar chart of the changes with their 95% intervals as error bars
Payload is on a log axis and so are the values when they span a factor of 10 or more.
The default output is <first stem>.xlsx beside the first file; an existing file (or a link with its
name) is never overwritten. The files are checked first, as compare and pivot read them (`ipcbench
check`): exit status 2 on bad input, with one line on stderr and nothing written. Control characters
in text cells, which a workbook cannot hold, are written as escapes (\\u{1B}); every text cell is
written as text, never as a formula, whatever it begins with.

Needs openpyxl: `scripts/setup --test` installs it into the checkout's .venv. Runs the
ipcbench binary: $IPCBENCH, else .build/release/ipcbench (build it with scripts/ipcbench).
"""
import argparse, io, os, sys

import ipcbench_files
from ipcbench_files import KEEPS_UP, LOAD_COLUMNS, LOAD_LATENCY, P99_GROWTH, check, fail, load_lines, rate_text, write_new

try:
    import openpyxl
    from openpyxl.chart import BarChart, Reference, ScatterChart, Series
    from openpyxl.chart.data_source import NumDataSource, NumRef
    from openpyxl.chart.error_bar import ErrorBars
    from openpyxl.chart.marker import DataPoint
    from openpyxl.drawing.text import CharacterProperties
    from openpyxl.styles import Font, PatternFill
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter
except ImportError:
    sys.exit("scripts/workbook.py needs openpyxl: run scripts/setup --test, then .venv/bin/python3 scripts/workbook.py")

# (sheet name, pattern, metric column, chart title, y axis title, parameter or None): the patterns'
# main metrics with their titles; with a parameter, the sheet's rows are its values at one payload
# (as `ipcbench pivot --rows parameter`), else the payloads. A pattern of the binary's table
# (`ipcbench list --format json`) that is missing here gets a sheet of its main metric.
METRICS = [("throughput", "throughput", "mib_per_s_median", "Throughput, MiB/s median", "MiB/s (median of the trials)", None),
           ("latency p50", "latency", "rtt_us_p50", "Round-trip time p50, us", "round-trip time p50, us", None),
           ("latency p99", "latency", "rtt_us_p99", "Round-trip time p99, us", "round-trip time p99, us", None),
           ("sync-message", "sync-message", "mib_per_s_median", "sync-message, MiB/s median", "MiB/s (median of the trials)", None),
           ("sync-message ack p50", "sync-message", "rtt_us_p50", "sync-message, send to acknowledgement p50, us",
            "send to acknowledgement p50, us", None),
           ("async-request", "async-request", "msgs_per_s_median", "async-request, requests/s median", "requests/s (median of the trials)", "depth"),
           ("duplex", "duplex", "mib_per_s_median", "duplex, MiB/s median (both directions)", "MiB/s (median of the trials)", None),
           ("fanout", "fanout", "mib_per_s_median", "fanout, MiB/s median (all receivers)", "MiB/s (median of the trials)", "receivers"),
           ("pairs", "pairs", "mib_per_s_median", "pairs, MiB/s median (all pairs)", "MiB/s (median of the trials)", "pairs"),
           ("pubsub", "pubsub", "mib_per_s_median", "pubsub, delivered MiB/s median (all subscribers)", "MiB/s (median of the trials)",
            "subscribers")]
# As scripts/plot.py draws them (matplotlib's default colours, in its transport order); a dash per side.
TRANSPORTS = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp", "udp"]
COLORS = ["1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22", "17BECF"]
DASHES = ["solid", "dash", "sysDot", "dashDot"]
MARKERS = ["circle", "square", "triangle", "diamond"]
GREEN, RED = "C6EFCE", "FFC7CE"
BAR_GREEN, BAR_RED, BAR_GREY = "2A9D3A", "D1495B", "BBBBBB"


def decimals(places):
    return "0" if places == 0 else "0." + "0" * places


def shown(value, number_format):
    """The cell as a spreadsheet shows it, for the column widths."""
    if value is None:
        return ""
    if isinstance(value, float) and "." in number_format:
        return f"{value:.{len(number_format) - 2}f}"
    return str(value)


def write_table(ws, header, rows, formats, top=1, left=1):
    """Writes a header and rows of typed values (text, numbers, None for an empty cell): every text
    cell as text, its control characters (which a workbook cannot hold) as escapes; each number with
    its column's number format."""
    escape = lambda m: "\\u{%X}" % ord(m.group())
    for i, row in enumerate([header] + rows):
        for j, value in enumerate(row):
            if isinstance(value, bool):
                value = int(value)  # as the CSV writes a verdict: 1 or 0
            if isinstance(value, str):
                cell = ws.cell(row=top + i, column=left + j, value=ILLEGAL_CHARACTERS_RE.sub(escape, value))
                cell.data_type = "s"  # text from a file is text, never a formula, whatever it begins with
            else:
                cell = ws.cell(row=top + i, column=left + j, value=value)
                if value is not None:
                    cell.number_format = formats[j]
            if i == 0:
                cell.font = Font(bold=True)


def fit_widths(ws, header, rows, formats, left=1, widest=40):
    for j, name in enumerate(header):
        longest = max([len(name)] + [len(shown(r[j], formats[j])) for r in rows])
        ws.column_dimensions[get_column_letter(left + j)].width = min(widest, longest + 2)


def column_places(runs):
    """Case column -> its decimals in the files: the binary's, or an older file's own."""
    places = {}
    for run in runs:
        older = run.record.get("decimal_places", {}).get("cases", {})
        for c in run.columns:
            if c["kind"] == "decimal":
                places[c["name"]] = max(places.get(c["name"], 0), older.get(c["name"], c["places"]))
    return places


def version(text):
    return tuple(int(part) for part in text.split("."))


def results_sheet(ws, runs):
    """Every row of every file, each column the file's version of the results format has (the
    columns of its CSV, in their order); a `file` column first when there are several."""
    several = len(runs) > 1
    columns = runs[0].columns
    has = [{c["name"] for c in columns if version(c["version"]) <= version(run.record["schema_version"])} for run in runs]
    names = [c["name"] for c in columns if any(c["name"] in h for h in has)]
    header = (["file"] if several else []) + names
    places = column_places(runs)
    kinds = {c["name"]: c["kind"] for c in columns}
    formats = ["0" if kinds.get(n) == "whole" else decimals(places.get(n, 0)) for n in header]

    def cell(name, value):
        if kinds.get(name) == "flag" and value is not None:
            return "true" if value else "false"  # as the CSV writes a setting that is on or off
        return value

    rows = [([run.stem] if several else []) + [cell(n, row.get(n)) if n in h else None for n in names]
            for run, h in zip(runs, has) for row in run.cases]
    write_table(ws, header, rows, formats)
    fit_widths(ws, header, rows, formats)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"


def spans_decades(values):
    positive = [v for v in values if isinstance(v, (int, float)) and v > 0]
    return bool(positive) and max(positive) / min(positive) >= 10


def payload_label(size):
    """`64 B`, `4 KiB`: as `ipcbench pivot` labels a payload (text, never a number to a spreadsheet)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def heading(runs):
    """`host, Linux <release>` (several kernels joined by ` vs `)."""
    firsts = [run.cases[0] for run in runs if run.cases]
    hosts = list(dict.fromkeys(f.get("hostname") or "" for f in firsts))
    kernels = list(dict.fromkeys(f.get("kernel_release") or "" for f in firsts))
    return f"{', '.join(hosts)}, Linux {' vs '.join(kernels)}"


class Side(list):
    """A side's runs (each an ipcbench_files.Results), its `name` (its files' stems joined with +)
    and, for a side of several runs, `centers`: (case, metric) -> the side's figure as compare
    computes it (the `center` of its `cases` in `ipcbench compare --format json`)."""
    def __init__(self, runs, argument):
        super().__init__(runs)
        self.argument = argument
        self.name = "+".join(run.stem for run in runs)
        self.centers = {}


# The case dimensions beside a pattern's parameters, as the results name them: the rate offered
# (empty: as fast as the path goes) and how the workers wait for data (empty: auto).
DIMENSIONS = {"rate": "unpaced", "wait": "auto"}


def dimension_text(name, value):
    """`rate 10k/s`, `unpaced`, `wait block`, `wait auto`, `depth 4`: a parameter's or dimension's value as a label names it."""
    if name == "rate":
        return f"rate {rate_text(value)}" if value is not None else DIMENSIONS["rate"]
    if name == "wait":
        return f"wait {value or DIMENSIONS['wait']}"
    return f"{name} {value}"


def pivot(sides, pattern, column, parameter):
    """The metric as `ipcbench pivot` lays it out, from the binary's JSON: a row per payload (or per
    value of `parameter` at one payload: the largest at which every column has a value), a column per
    transport, placement, options (where they tell two columns apart), value of the pattern's other
    parameters (those that differ) and side (named when there are several files). A cell holds the
    case's figure in the side's one run (the case file's column), or for a side of several runs the
    side's figure as compare computes it; it is empty where the case is missing, skipped or failed,
    the first kept where a run has a case twice. Returns the top-left cell (pattern, column and
    unit), the columns, the rows as (label, x, values), and for parameter rows ` at <payload>` with
    the parameters every column shares; None where no case has a value."""
    metric = METRIC_NAME.get((pattern, column))
    taken = PARAMETERS.get(pattern, [])
    # The rate offered and the wait mode are case dimensions as the parameters are: a case at
    # --rate 10000 and one at 100000 (or --wait block and poll) are two columns, never one.
    others = [p for p in taken if p != parameter] + list(DIMENSIONS)
    found, cells = [], {}
    for s, side in enumerate(sides):
        for run in side:
            for row in run.cases:
                if row["pattern"] != pattern or (parameter and not isinstance(row.get(parameter), int)):
                    continue
                series = (s, row["transport"], (row["cpu_placement"] or "").split(":")[0], row.get("options") or "",
                          tuple(row.get(p) for p in others))
                if series not in found:
                    found.append(series)
                if row["status"] != "ok":
                    continue
                value = row.get(column) if len(side) == 1 else side.centers.get((row["case"], metric))
                if value is not None:
                    cells.setdefault((series, row["payload_bytes"], row.get(parameter) if parameter else 0), value)
    if not cells:
        return None

    def first_seen(i):
        return list(dict.fromkeys(f[i] for f in found))

    transports, placements, options = first_seen(1), first_seen(2), first_seen(3)
    values_of = [list(dict.fromkeys(f[4][k] for f in found)) for k in range(len(others))]

    def order(f):
        parameters = [(0, v, 0) if isinstance(v, int) else (1, 0, values_of[k].index(v)) for k, v in enumerate(f[4])]
        return (transports.index(f[1]), placements.index(f[2]), options.index(f[3]), parameters, f[0])

    ordered = sorted(found, key=order)
    # A parameter with one value in every column is named once, in the title.
    fixed = [k for k in range(len(others)) if len(values_of[k]) == 1 and values_of[k][0] is not None]
    # Where cases run at a rate, the wait mode is named even when it is the default for all (auto).
    paced = any(row.get("rate") is not None for side in sides for run in side for row in run.cases if row["pattern"] == pattern)
    fixed_text = "".join(f", {dimension_text(others[k], values_of[k][0])}" for k in range(len(others))
                         if k in fixed or (paced and others[k] == "wait" and len(values_of[k]) == 1))

    def name(f):
        parts = [f[1], f[2]]
        # Options only where a transport and placement have several in one side.
        if any(g[0] == f[0] and g[1:3] == f[1:3] and g[3] != f[3] for g in found):
            parts.append(f[3] or "default")
        # A rate or wait mode that differs between columns is named in each, its default (none, auto) too.
        parts += [dimension_text(others[k], v) for k, v in enumerate(f[4])
                  if k not in fixed and (v is not None or (others[k] in DIMENSIONS and len(values_of[k]) > 1))]
        if sum(len(side) for side in sides) > 1:
            parts.append(f"({sides[f[0]].name})")
        return " ".join(p for p in parts if p)

    unit = UNITS.get(column)
    title = f"{pattern} {column}" + (f" ({unit})" if unit else "")
    payloads = sorted({row["payload_bytes"] for side in sides for run in side for row in run.cases if row["pattern"] == pattern})
    if not parameter:
        rows = [(payload_label(p), p, [cells.get((f, p, 0)) for f in ordered]) for p in payloads]
        return title + fixed_text, [name(f) for f in ordered], rows, ""
    values = sorted({row[parameter] for side in sides for run in side for row in run.cases
                     if row["pattern"] == pattern and isinstance(row.get(parameter), int)})
    every = [p for p in payloads if all(any((f, p, v) in cells for v in values) for f in ordered)]
    payload = (every or payloads)[-1]
    rows = [(f"{parameter} {v}", v, [cells.get((f, payload, v)) for f in ordered]) for v in values]
    at = f" at {payload_label(payload)}{fixed_text}"
    return title + at, [name(f) for f in ordered], rows, at


def metric_sheet(ws, pivot, number_format, title, y_title, anchor_sheet=None, parameter=None, side_names=()):
    """The pivot at A1, payload bytes (or the parameter's values) in a column after it (the chart's
    x values) and the chart. The chart goes beside the table, or at A1 of `anchor_sheet` when given."""
    corner, columns, rows, _ = pivot
    header = [corner] + columns
    table = [[label] + values for label, _, values in rows]
    formats = [None] + [number_format] * len(columns)
    x_name = parameter or "payload_bytes"
    write_table(ws, header, table, formats)
    fit_widths(ws, header, table, formats, widest=30)
    ws.column_dimensions["A"].width = max(12, min(40, len(header[0]) + 2))
    ws.freeze_panes = "B2"
    x_col = len(header) + 2
    ws.cell(row=1, column=x_col, value=x_name).font = Font(bold=True)
    for i, (_, x, _) in enumerate(rows):
        ws.cell(row=2 + i, column=x_col, value=x).number_format = "0"
    ws.column_dimensions[get_column_letter(x_col)].width = 15

    chart = ScatterChart()
    chart.title = title
    chart.title.tx.rich.p[0].r[0].rPr = CharacterProperties(sz=1300, b=True)
    chart.style = 2
    chart.scatterStyle = "lineMarker"
    many = len(header) - 1 > 8  # pubsub's combinations: the legend goes below, the chart grows with it
    chart.height, chart.width = (12 + 0.5 * (len(header) - 1), 24) if many else (12, 24)
    x_title = parameter or "payload per message, bytes"
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.x_axis.number_format = "0"
    chart.y_axis.number_format = "General"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b" if many else "r"
    # Base 10: LibreOffice reads every log axis as base 10.
    if spans_decades([x for _, x, _ in rows]):
        chart.x_axis.scaling.logBase = 10
        chart.x_axis.title = x_title + " (log scale)"
    if spans_decades([v for _, _, values in rows for v in values]):
        chart.y_axis.scaling.logBase = 10
        chart.y_axis.title = y_title + " (log scale)"
    xs = Reference(ws, min_col=x_col, min_row=2, max_row=len(rows) + 1)
    for col in range(2, len(header) + 1):
        ys = Reference(ws, min_col=col, min_row=1, max_row=len(rows) + 1)
        series = Series(ys, xs, title_from_data=True)
        series.marker.symbol = "circle"
        series.marker.size = 6
        series.smooth = False
        # As scripts/plot.py draws them: a colour per transport, a line style per side.
        transport = header[col - 1].split(" ")[0]
        if transport in TRANSPORTS:
            color = COLORS[TRANSPORTS.index(transport) % len(COLORS)]
            series.graphicalProperties.line.solidFill = color
            series.marker.graphicalProperties.solidFill = color
            series.marker.graphicalProperties.line.solidFill = color
        side = next((i for i, label in enumerate(side_names) if header[col - 1].endswith(f"({label})")), 0)
        series.graphicalProperties.line.dashStyle = DASHES[side % len(DASHES)]
        if len(side_names) < 2 and sum(1 for c in header[1:] if c.split(" ")[0] == transport) > 1:
            # One transport's several series (placements, rates, wait modes) apart: a line style and a marker each.
            k = sum(1 for c in header[1:col - 1] if c.split(" ")[0] == transport)
            series.graphicalProperties.line.dashStyle = DASHES[k % len(DASHES)]
            series.marker.symbol = MARKERS[k // len(DASHES) % len(MARKERS)]
        chart.series.append(series)
    if anchor_sheet is None:
        ws.add_chart(chart, get_column_letter(x_col + 2) + "2")
        one_page(ws)
    else:
        anchor_sheet.add_chart(chart, "A1")
    return chart


def load_sheet(ws, sides, pattern, runs):
    """Latency against load: a row per case at a rate (its line's name, the rate offered and
    achieved, the late share, the pacing overshoot, the corrected percentiles and the uncorrected
    p99.9, whether it is saturated), and a chart of the corrected p99 (solid) and p50 (dashed)
    against the rate achieved, a line per transport, placement, payload, wait mode and parameter
    value; saturated points in red. Patterns that time no message: the rate achieved against the
    rate offered. None where the files have no such case."""
    lines = load_lines([(side.name, side) for side in sides], pattern)
    if not lines:
        return None
    latency, what = LOAD_LATENCY.get(pattern, ((), ""))
    # The saturated points' y values in a column of their own: a series of red rings (a chart
    # program draws a series' markers alike, whatever a data point says).
    y_name = latency[1] if latency else "achieved_msgs_per_s_median"
    ring = f"saturated: its {y_name}"
    header = ["line"] + LOAD_COLUMNS + list(latency) + [ring]
    places = column_places(runs)
    whole = {c["name"] for c in runs[0].columns if c["kind"] == "whole"}
    formats = [None] + ["0" if c in whole else decimals(places.get(c, 3)) for c in header[1:-1] + [y_name]]
    table, spans = [], []
    for name, points in lines:
        spans.append((name, len(table) + 2, len(table) + 1 + len(points)))
        table += [[name] + [f.get(c) for c in LOAD_COLUMNS + list(latency)] + [f.get(y_name) if mark else None] for _, f, mark in points]
    write_table(ws, header, table, formats)
    fit_widths(ws, header, table, formats, widest=60)
    ws.freeze_panes = "B2"

    chart = ScatterChart()
    chart.title = (f"{pattern} at a rate: {what} p99 (solid) and p50 (dashed) against the rate achieved — {heading(runs)}"
                   if latency else f"{pattern} at a rate: the rate achieved against the rate offered — {heading(runs)}")
    chart.title.tx.rich.p[0].r[0].rPr = CharacterProperties(sz=1100, b=True)
    chart.style = 2
    chart.scatterStyle = "lineMarker"
    chart.height, chart.width = 12 + 0.5 * len(lines), 26
    chart.x_axis.title = "achieved, messages/s (log scale)" if latency else "offered, messages/s (log scale)"
    chart.y_axis.title = (f"{what}, µs from the intended send (corrected; log scale)" if latency
                          else "achieved, messages/s (log scale)")
    chart.x_axis.scaling.logBase = chart.y_axis.scaling.logBase = 10
    chart.x_axis.number_format = chart.y_axis.number_format = "General"
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend.position = "b"
    column = {name: i + 1 for i, name in enumerate(header)}
    traces = [(latency[1], "solid", ""), (latency[0], "dash", " p50")] if latency else [("achieved_msgs_per_s_median", "solid", "")]
    x_column = column["achieved_msgs_per_s_median" if latency else "offered_msgs_per_s"]
    transports = [n.split(" ")[0] for n, _ in lines]
    for i, (name, first, last) in enumerate(spans):
        transport = name.split(" ")[0]
        color = COLORS[TRANSPORTS.index(transport) % len(COLORS)] if transport in TRANSPORTS else COLORS[i % len(COLORS)]
        k = transports[:i].count(transport)  # one transport's several lines apart: a marker each
        xs = Reference(ws, min_col=x_column, min_row=first, max_row=last)
        for y_column, dash, suffix in traces:
            series = Series(Reference(ws, min_col=column[y_column], min_row=first, max_row=last), xs, title=name + suffix)
            series.marker.symbol = MARKERS[k % len(MARKERS)]
            series.marker.size = 7 if dash == "solid" else 5
            series.smooth = False
            series.graphicalProperties.line.solidFill = color
            series.graphicalProperties.line.dashStyle = dash
            series.marker.graphicalProperties.solidFill = color
            series.marker.graphicalProperties.line.solidFill = color
            chart.series.append(series)
    if any(row[-1] is not None for row in table):
        rings = Series(Reference(ws, min_col=len(header), min_row=2, max_row=len(table) + 1),
                       Reference(ws, min_col=x_column, min_row=2, max_row=len(table) + 1),
                       title=f"saturated: below {KEEPS_UP:.0%} of offered, or p99 over {P99_GROWTH}x its lowest-rate p99")
        rings.marker.symbol = "circle"
        rings.marker.size = 13
        rings.marker.graphicalProperties.noFill = True
        rings.marker.graphicalProperties.line.solidFill = BAR_RED
        rings.marker.graphicalProperties.line.width = 28575  # 2.25 pt
        rings.graphicalProperties.line.noFill = True
        chart.series.append(rings)
    ws.add_chart(chart, get_column_letter(len(header) + 2) + "2")
    one_page(ws)
    return chart


def one_page(ws):
    """Printed (and exported to PDF) on one landscape page, so that a chart never breaks across two."""
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1


def compare_sheet(ws, sides, ignore):
    """`ipcbench compare --format json`: a row per row with the columns of `--format csv` (each
    row's fields before `case`, in their order), a `case` label (the case's name and metric, and the
    new side when there are several), the interval's two arms, colours and a bar chart with error bars."""
    rows = ipcbench_files.compare([side.argument for side in sides], ignore)["rows"]
    if not rows:
        ws.cell(row=1, column=1, value="no case is in every file of both sides; if they differ in placement, options or "
                                        "parameter on purpose, give --ignore placement (or options, parameter)")
        return
    header = list(rows[0])
    header = header[:header.index("case")]  # the CSV's columns; the fields the CSV lacks follow them
    names = {side.argument: side.name for side in sides}

    def label(r):
        parts = [r["case"], r["metric"]]
        if len(sides) > 2:
            parts.append(f"({names.get(r['new_file'], r['new_file'])})")
        return " ".join(parts)

    def arms(r):
        """How far the interval reaches above and below the change, for the error bars."""
        low, high, change = r["change_ci95_low_pct"], r["change_ci95_high_pct"], r["change_pct"]
        if low is None or high is None or change is None:
            return [None, None]
        return [round(high - change, 2), round(change - low, 2)]

    full_header = header + ["case", "interval_above_pct", "interval_below_pct"]
    full_rows = [[r[h] for h in header] + [label(r)] + arms(r) for r in rows]
    # As --format csv writes them: percentages with 2 decimals, the other figures with 3.
    formats = ["0.00" if h.endswith("_pct") else "0.000" for h in full_header]
    formats = [f if any(isinstance(r[j], float) for r in full_rows) else "0" for j, f in enumerate(formats)]
    write_table(ws, full_header, full_rows, formats)
    fit_widths(ws, full_header, full_rows, formats)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(full_header))}{len(full_rows) + 1}"
    colors = []
    for i, r in enumerate(rows):
        better = ((r["change_pct"] or 0.0) > 0) == r["higher_is_better"]
        colors.append(BAR_GREY if not r["significant"] else (BAR_GREEN if better else BAR_RED))
        if r["significant"]:
            fill = PatternFill("solid", fgColor=GREEN if better else RED)
            for j in range(len(full_header)):
                ws.cell(row=2 + i, column=1 + j).fill = fill

    chart = BarChart()
    chart.type = "bar"
    chart.style = 2
    chart.title = "change against the base, % with its 95% interval (green better, red worse, grey not significant)"
    chart.y_axis.title = "change, %"
    chart.y_axis.number_format = '0"%"'
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    # The case labels at the axis's low end, clear of the bars that go below 0.
    chart.x_axis.tickLblPos = "low"
    chart.legend = None
    chart.height, chart.width = max(8, 0.5 * len(rows) + 3), 24
    values = Reference(ws, min_col=header.index("change_pct") + 1, min_row=1, max_row=len(rows) + 1)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=len(header) + 1, min_row=2, max_row=len(rows) + 1))
    chart.x_axis.scaling.orientation = "maxMin"
    series = chart.series[0]
    reference = lambda c: NumDataSource(numRef=NumRef(f=f"'{ws.title}'!${get_column_letter(c)}$2:${get_column_letter(c)}${len(rows) + 1}"))
    series.errBars = ErrorBars(errBarType="both", errValType="cust", noEndCap=False,
                               plus=reference(len(header) + 2), minus=reference(len(header) + 3))
    for i, color in enumerate(colors):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = color
        point.graphicalProperties.line.solidFill = color
        series.dPt.append(point)
    ws.add_chart(chart, get_column_letter(len(full_header) + 2) + "2")
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0


# From the binary's table (`ipcbench list --format json`), filled in sheets(): (pattern, case column)
# -> the metric's name as compare writes it; pattern -> its parameters; case column -> its unit.
METRIC_NAME, PARAMETERS, UNITS = {}, {}, {}


def sheets():
    """METRICS, and a sheet of the main metric of each pattern of the binary's table that it lacks."""
    table = ipcbench_files.metrics()
    for m in table:
        METRIC_NAME[(m["pattern"], m["case_column"])] = m["metric"]
        PARAMETERS[m["pattern"]] = m["parameter"].split()
    UNITS.update((c["name"], c["unit"]) for c in ipcbench_files.described()["results_format"]["case_columns"] if c["unit"])
    named = {m[1] for m in METRICS}
    main = {}
    for m in table:
        main.setdefault(m["pattern"], m)
    return METRICS + [(p[:31], p, m["case_column"], f"{p}, {m['metric']} median", f"{m['unit']} (median of the trials)",
                       (m["parameter"].split() or [None])[0]) for p, m in main.items() if p not in named]


def load(arguments):
    """The sides (each a file, or runs joined with commas) read through the binary, once `ipcbench
    check` accepted every file; a side of several runs with its figures as compare computes them."""
    files = list(dict.fromkeys(f for argument in arguments for f in argument.split(",")))
    check(files)
    runs = {path: ipcbench_files.load(path) for path in files}
    sides = [Side([runs[f] for f in dict.fromkeys(argument.split(","))], argument) for argument in arguments]
    if len({side.name for side in sides}) < len(sides):
        for side in sides:
            side.name = side.argument  # two sides of the same stems: named by their paths
    if any(len(side) > 1 for side in sides):
        for side, centers in zip(sides, ipcbench_files.centers([side.argument for side in sides])):
            side.centers = {key: figures[0] for key, figures in centers.items()}
    return sides, list(runs.values())


def pivots(sides, runs):
    """(sheet name, pivot, number format, chart title, y title, parameter) for each pattern and metric the files have."""
    out = []
    places = column_places(runs)
    for name, pattern, column, what, y_title, parameter in sheets():
        table = pivot(sides, pattern, column, parameter)
        if table:
            out.append((name, table, decimals(places.get(column, 3)), f"{what}{table[3]} — {heading(runs)}", y_title, parameter))
    return out


def build(arguments, ignore=(), only=None):
    """The workbook of the sides (each a file, or runs joined with commas); with `only`, just that
    metric's chart on its own first sheet (for rendering)."""
    sides, runs = load(arguments)
    names = [side.name for side in sides]
    wb = openpyxl.Workbook()
    if only is not None and only.endswith(" load"):
        # A load sheet's chart on the first page, its table on the second.
        chart_ws = wb.active
        chart_ws.title = "chart"
        one_page(chart_ws)
        data = wb.create_sheet(only)
        chart = load_sheet(data, sides, only[:-len(" load")], runs)
        if chart is None:
            fail(f"no {only} sheet: the files have no such cases at a rate")
        data._charts.remove(chart)
        chart_ws.add_chart(chart, "A1")
        return wb
    if only is not None:
        chosen = [p for p in pivots(sides, runs) if p[0] == only]
        if not chosen:
            fail(f"no {only} sheet: the files have no such cases")
        name, table, number_format, title, y_title, parameter = chosen[0]
        chart_ws = wb.active
        chart_ws.title = "chart"
        one_page(chart_ws)
        metric_sheet(wb.create_sheet(name), table, number_format, title, y_title, anchor_sheet=chart_ws, parameter=parameter,
                     side_names=names)
        return wb
    ws = wb.active
    ws.title = "results"
    results_sheet(ws, runs)
    for name, table, number_format, title, y_title, parameter in pivots(sides, runs):
        metric_sheet(wb.create_sheet(name), table, number_format, title, y_title, parameter=parameter, side_names=names)
    for pattern in dict.fromkeys(row["pattern"] for side in sides for run in side for row in run.cases if row.get("offered_msgs_per_s")):
        ws = wb.create_sheet(f"{pattern} load"[:31])
        if load_sheet(ws, sides, pattern, runs) is None:
            wb.remove(ws)
    if len(sides) > 1:
        compare_sheet(wb.create_sheet("compare"), sides, ignore)
    return wb


def main():
    parser = argparse.ArgumentParser(description="Write ipcbench results as an .xlsx workbook with charts.")
    parser.add_argument("sides", nargs="+", help="ipcbench results files (<stem>.csv); several runs of a side joined with commas")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare (for example placement)")
    parser.add_argument("-o", "--output", help="the .xlsx file (default: <first stem>.xlsx beside the first file)")
    args = parser.parse_args()
    output = args.output or os.path.splitext(args.sides[0].split(",")[0])[0] + ".xlsx"
    if not output.endswith(".xlsx"):
        fail(f"{output}: the output must end in .xlsx")
    if os.path.lexists(output):
        fail(f"{output} already exists; choose another -o (nothing is overwritten)")
    content = io.BytesIO()
    build(args.sides, args.ignore).save(content)
    write_new([(output, content.getvalue())])
    print(output)


if __name__ == "__main__":
    main()
