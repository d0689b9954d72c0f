#!/usr/bin/env python3
"""Writes ipcbench results as a workbook (.xlsx) with native charts, for LibreOffice Calc and Excel.

    scripts/workbook.py SIDE [SIDE ...] [--ignore KEY] [-o FILE.xlsx]

A side is a results file, or several runs of one setup joined with commas (a1.csv,a2.csv), as for
`ipcbench compare`; a side of several runs shows per case the median of its runs' figures.

Sheets:
  results              every row and column of the case file(s), numbers as numbers, frozen header,
                       autofilter (with several files, a first column `file` names each row's file)
  throughput           MiB/s median: the table `ipcbench pivot` writes, with a line chart beside it
  latency p50, p99     RTT p50 and p99 in us, likewise
  sync-message, sync-message ack p50
                       MiB/s and send-to-acknowledgement p50 in us against payload
  duplex               MiB/s (both directions) against payload
  async-request, fanout, pairs
                       requests/s, MiB/s, MiB/s against depth, receivers, pairs at one payload
                       (`ipcbench pivot --rows parameter`: the largest payload at which every
                       column has a value); a line per transport and placement
(a sheet only for the patterns the files hold)
  compare              with two or more sides: `ipcbench compare --format csv` against the first
                       side (with --ignore as given), significant changes green (better) or red
                       (worse), and a bar chart of the changes with their 95% intervals as error bars
Payload is on a log axis and so are the values when they span a factor of 10 or more.
The default output is <first stem>.xlsx beside the first file; an existing file (or a link with its
name) is never overwritten. The files are checked first, as compare and pivot read them (`ipcbench
check`): exit status 2 on bad input, with one line on stderr and nothing written. Control characters
in text cells, which a workbook cannot hold, are written as escapes (\\u{1B}); every text cell is
written as text, never as a formula, whatever it begins with.

Needs openpyxl: `python3 -m pip install openpyxl` (scripts/setup --test installs it). Runs the
ipcbench binary: $IPCBENCH, else .build/release/ipcbench (build it with scripts/ipcbench).
"""
import argparse, csv, io, os, re, sys

import ipcbench_files
from ipcbench_files import check, fail, ipcbench, write_new

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
    sys.exit("scripts/workbook.py needs openpyxl: python3 -m pip install openpyxl")

NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
TEXT = {"run_id", "timestamp_utc", "hostname", "kernel_release", "kernel_version", "arch", "cpu_model",
        "ipcbench_version", "transport", "pattern", "cpu_placement", "options", "status", "error",
        "boot_id", "proc_version", "kernel_cmdline", "virtualization", "command", "workers",
        "kind", "new_file", "placement", "metric", "test", "file", "method", "note", "case"}
# (sheet name, pattern, metric column, chart title, y axis title, parameter or None): the patterns'
# main metrics with their titles; with a parameter, the sheet's rows are its values (`ipcbench pivot
# --rows parameter`), else the payloads. A pattern of the binary's table (`ipcbench list --format
# csv`) that is missing here gets a sheet of its main metric.
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
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
# As scripts/plot.py draws them (matplotlib's default colours, in its transport order); a dash per side.
TRANSPORTS = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp", "udp"]
COLORS = ["1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22", "17BECF"]
DASHES = ["solid", "dash", "sysDot", "dashDot"]
MARKERS = ["circle", "square", "triangle", "diamond"]
GREEN, RED = "C6EFCE", "FFC7CE"
BAR_GREEN, BAR_RED, BAR_GREY = "2A9D3A", "D1495B", "BBBBBB"


def read_csv(text):
    """Rows of cells, with the control characters a workbook cannot hold written as escapes."""
    escape = lambda m: "\\u{%X}" % ord(m.group())
    return [[ILLEGAL_CHARACTERS_RE.sub(escape, cell) for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]


def cell_value(column, text):
    """A number where the text is a plain decimal (outside the text columns), else the text."""
    if column in TEXT or not NUMBER.fullmatch(text):
        return text if text != "" else None
    return int(text) if "." not in text else float(text)


def number_format(texts):
    places = max((len(t.split(".")[1]) for t in texts if NUMBER.fullmatch(t) and "." in t), default=0)
    return "0" if places == 0 else "0." + "0" * places


def write_table(ws, header, rows, top=1, left=1):
    """Writes a header and rows with numbers as numbers; returns the number format of each column."""
    for j, name in enumerate(header):
        cell = ws.cell(row=top, column=left + j, value=name)
        cell.data_type = "s"  # text from a file is text, never a formula, whatever it begins with
        cell.font = Font(bold=True)
    formats = [number_format([r[j] for r in rows if j < len(r)]) for j in range(len(header))]
    for i, row in enumerate(rows):
        for j, name in enumerate(header):
            value = cell_value(name, row[j] if j < len(row) else "")
            cell = ws.cell(row=top + 1 + i, column=left + j, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, not a formula
            if isinstance(value, (int, float)):
                cell.number_format = formats[j]
    return formats


def fit_widths(ws, header, rows, left=1, widest=40):
    for j, name in enumerate(header):
        longest = max([len(name)] + [len(r[j]) for r in rows if j < len(r)])
        ws.column_dimensions[get_column_letter(left + j)].width = min(widest, longest + 2)


def results_sheet(ws, files, tables):
    """Every row of every file; a `file` column first when there are several."""
    several = len(files) > 1
    header = ["file"] if several else []
    for table in tables:
        header += [h for h in table[0] if h not in header]
    rows = []
    for path, table in zip(files, tables):
        index = {h: i for i, h in enumerate(table[0])}
        stem = os.path.splitext(os.path.basename(path))[0]
        for r in table[1:]:
            rows.append([stem if h == "file" else (r[index[h]] if h in index else "") for h in header])
    write_table(ws, header, rows)
    fit_widths(ws, header, rows)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"


def spans_decades(values):
    positive = [v for v in values if isinstance(v, (int, float)) and v > 0]
    return bool(positive) and max(positive) / min(positive) >= 10


def payload_bytes(label):
    number, unit = label.split(" ")
    return int(number) * UNITS[unit]


def heading(tables):
    """`host, Linux <release>` (several kernels joined by ` vs `)."""
    firsts = [dict(zip(t[0], t[1])) for t in tables if len(t) > 1]
    kernels = []
    for f in firsts:
        if f.get("kernel_release") not in kernels:
            kernels.append(f.get("kernel_release"))
    hosts = []
    for f in firsts:
        if f.get("hostname") not in hosts:
            hosts.append(f.get("hostname"))
    return f"{', '.join(hosts)}, Linux {' vs '.join(kernels)}"


def metric_sheet(ws, pivot, title, y_title, anchor_sheet=None, parameter=None, side_names=()):
    """The pivot at A1, payload bytes (or the parameter's values) in a column after it (the chart's
    x values) and the chart. The chart goes beside the table, or at A1 of `anchor_sheet` when given."""
    header, rows = pivot[0], pivot[1:]
    x_name = parameter or "payload_bytes"
    x_value = (lambda label: int(label.split(" ")[-1])) if parameter else payload_bytes
    write_table(ws, header, rows)
    fit_widths(ws, header, rows, widest=30)
    ws.column_dimensions["A"].width = max(12, min(40, len(header[0]) + 2))
    ws.freeze_panes = "B2"
    x_col = len(header) + 2
    ws.cell(row=1, column=x_col, value=x_name).font = Font(bold=True)
    for i, r in enumerate(rows):
        ws.cell(row=2 + i, column=x_col, value=x_value(r[0])).number_format = "0"
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
    xs_values = [x_value(r[0]) for r in rows]
    # Base 10: LibreOffice reads every log axis as base 10.
    if spans_decades(xs_values):
        chart.x_axis.scaling.logBase = 10
        chart.x_axis.title = x_title + " (log scale)"
    values = [cell_value("", v) for r in rows for v in r[1:]]
    if spans_decades(values):
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
        color = COLORS[TRANSPORTS.index(header[col - 1].split(" ")[0]) % len(COLORS)] if header[col - 1].split(" ")[0] in TRANSPORTS else None
        if color:
            series.graphicalProperties.line.solidFill = color
            series.marker.graphicalProperties.solidFill = color
            series.marker.graphicalProperties.line.solidFill = color
        side = next((i for i, label in enumerate(side_names) if header[col - 1].endswith(f"({label})")), 0)
        series.graphicalProperties.line.dashStyle = DASHES[side % len(DASHES)]
        if many and len(side_names) < 2:
            # One transport's many series apart: a line style and a marker each.
            k = sum(1 for c in header[1:col - 1] if c.split(" ")[0] == header[col - 1].split(" ")[0])
            series.graphicalProperties.line.dashStyle = DASHES[k % len(DASHES)]
            series.marker.symbol = MARKERS[k // len(DASHES) % len(MARKERS)]
        chart.series.append(series)
    if anchor_sheet is None:
        ws.add_chart(chart, get_column_letter(x_col + 2) + "2")
        one_page(ws)
    else:
        anchor_sheet.add_chart(chart, "A1")
    return chart


def one_page(ws):
    """Printed (and exported to PDF) on one landscape page, so that a chart never breaks across two."""
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1


def compare_sheet(ws, sides, ignore):
    """`ipcbench compare --format csv` as is, a `case` label column, the interval's two arms, colours
    and a bar chart with error bars."""
    table = read_csv(ipcbench("compare", *sides, "--format", "csv", *sum((["--ignore", k] for k in ignore), [])))
    header, rows = table[0], table[1:]
    if not rows:
        ws.cell(row=1, column=1, value="no case is in every file of both sides; if they differ in placement, options or "
                                        "parameter on purpose, give --ignore placement (or options, parameter)")
        return
    col = {h: i for i, h in enumerate(header)}
    several = len(sides) > 2

    def label(r):
        row = dict(zip(header, r))
        parts = [ipcbench_files.case_name(row), row["metric"]]
        if several:
            parts.append("(" + os.path.splitext(os.path.basename(row["new_file"]))[0] + ")")
        return " ".join(parts)

    def arms(r):
        """How far the interval reaches above and below the change, for the error bars."""
        low, high, change = (r[col[k]] for k in ("change_ci95_low_pct", "change_ci95_high_pct", "change_pct"))
        if not low or not high:
            return ["", ""]
        return [f"{float(high) - float(change):.2f}", f"{float(change) - float(low):.2f}"]

    full_header = header + ["case", "interval_above_pct", "interval_below_pct"]
    full_rows = [r + [label(r)] + arms(r) for r in rows]
    write_table(ws, full_header, full_rows)
    fit_widths(ws, full_header, full_rows)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(full_header))}{len(full_rows) + 1}"
    colors = []
    for i, r in enumerate(rows):
        significant = "significant" in col and r[col["significant"]] == "1"
        change = float(r[col["change_pct"]]) if r[col["change_pct"]] else 0.0
        better = (change > 0) == higher_is_better(r[col["metric"]])
        colors.append(BAR_GREY if not significant else (BAR_GREEN if better else BAR_RED))
        if significant:
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
    values = Reference(ws, min_col=col["change_pct"] + 1, min_row=1, max_row=len(rows) + 1)
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


# Metric names as `ipcbench compare` writes them -> higher is better; from the binary's table.
HIGHER_IS_BETTER = {}


def sheets():
    """METRICS, and a sheet of the main metric of each pattern of the binary's table that it lacks."""
    table = ipcbench_files.metrics()
    HIGHER_IS_BETTER.update(ipcbench_files.higher_is_better(table))
    named = {m[1] for m in METRICS}
    main = {}
    for m in table:
        main.setdefault(m["pattern"], m)
    return METRICS + [(p[:31], p, m["case_column"], f"{p}, {m['metric']} median", f"{m['unit']} (median of the trials)",
                       (m["parameter"].split() or [None])[0]) for p, m in main.items() if p not in named]


def higher_is_better(metric):
    return HIGHER_IS_BETTER[metric]


def load(files):
    """The files as tables, once `ipcbench check` accepted them."""
    check(files)
    tables = []
    for path in files:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            tables.append(read_csv(f.read()))
    return tables


def side_name(side):
    return "+".join(os.path.splitext(os.path.basename(f))[0] for f in side)


def combine(pivot, files, sides):
    """Each side of several runs as one column per case: the median of its runs' figures (a cell
    is empty where a run lacks the case). `ipcbench pivot` names each file's columns `(<stem>)`, or
    `(<path>)` where two stems are equal."""
    stems = [os.path.splitext(os.path.basename(f))[0] for f in files]
    suffix = {f: f"({stem if stems.count(stem) == 1 else f})" for f, stem in zip(files, stems)}
    header, rows = pivot[0], pivot[1:]
    columns, sources = [header[0]], [[0]]
    for side in sides:
        if len(side) == 1:
            continue
        for j, name in enumerate(header[1:], 1):
            for f in side:
                if name.endswith(" " + suffix[f]):
                    merged = name[: -len(suffix[f])] + f"({side_name(side)})"
                    if merged not in columns:
                        columns.append(merged)
                        sources.append([])
                    sources[columns.index(merged)].append(j)
    merged_files = {f for side in sides if len(side) > 1 for f in side}
    for j, name in enumerate(header[1:], 1):
        if not any(name.endswith(" " + suffix[f]) for f in merged_files):
            columns.append(name)
            sources.append([j])

    def cell(row, source):
        values = [row[j] for j in source]
        if len(values) == 1 or any(v == "" for v in values):
            return values[0] if len(values) == 1 else ""
        numbers = sorted(float(v) for v in values)
        n = len(numbers)
        middle = numbers[n // 2] if n % 2 else (numbers[n // 2 - 1] + numbers[n // 2]) / 2
        return f"{middle:.3f}"
    return [columns] + [[r[0]] + [cell(r, src) for src in sources[1:]] for r in rows]


def pivots(files, tables, sides):
    """(sheet name, pivot table, chart title, y title, parameter) for each pattern and metric the files have."""
    patterns = {r[t[0].index("pattern")] for t in tables for r in t[1:]}
    out = []
    for name, pattern, metric, what, y_title, parameter in sheets():
        has_value = any(metric in t[0] and r[t[0].index(metric)] and r[t[0].index("status")] == "ok"
                        and r[t[0].index("pattern")] == pattern for t in tables for r in t[1:])
        if pattern in patterns and has_value:
            rows = ["--rows", parameter] if parameter else []
            pivot = combine(read_csv(ipcbench("pivot", *files, "--pattern", pattern, "--metric", metric, *rows)), files, sides)
            # The pivot's title ends with `at <payload>` for parameter rows.
            at = " " + pivot[0][0].rsplit(") ", 1)[-1] if parameter and " at " in pivot[0][0] else ""
            out.append((name, pivot, f"{what}{at} — {heading(tables)}", y_title, parameter))
    return out


def build(sides, ignore=(), only=None):
    """The workbook; with `only`, just that metric's chart on its own first sheet (for rendering)."""
    files = list(dict.fromkeys(f for side in sides for f in side))
    tables = load(files)
    names = [side_name(side) for side in sides]
    wb = openpyxl.Workbook()
    if only is not None:
        chosen = [p for p in pivots(files, tables, sides) if p[0] == only]
        if not chosen:
            fail(f"no {only} sheet: the files have no such cases")
        name, pivot, title, y_title, parameter = chosen[0]
        chart_ws = wb.active
        chart_ws.title = "chart"
        one_page(chart_ws)
        metric_sheet(wb.create_sheet(name), pivot, title, y_title, anchor_sheet=chart_ws, parameter=parameter, side_names=names)
        return wb
    ws = wb.active
    ws.title = "results"
    results_sheet(ws, files, tables)
    for name, pivot, title, y_title, parameter in pivots(files, tables, sides):
        metric_sheet(wb.create_sheet(name), pivot, title, y_title, parameter=parameter, side_names=names)
    if len(sides) > 1:
        compare_sheet(wb.create_sheet("compare"), [",".join(side) for side in sides], ignore)
    return wb


def main():
    parser = argparse.ArgumentParser(description="Write ipcbench results as an .xlsx workbook with charts.")
    parser.add_argument("sides", nargs="+", help="ipcbench results files (<stem>.csv); several runs of a side joined with commas")
    parser.add_argument("--ignore", action="append", default=[], help="passed to ipcbench compare (for example placement)")
    parser.add_argument("-o", "--output", help="the .xlsx file (default: <first stem>.xlsx beside the first file)")
    args = parser.parse_args()
    sides = [side.split(",") for side in args.sides]
    output = args.output or os.path.splitext(sides[0][0])[0] + ".xlsx"
    if not output.endswith(".xlsx"):
        fail(f"{output}: the output must end in .xlsx")
    if os.path.lexists(output):
        fail(f"{output} already exists; choose another -o (nothing is overwritten)")
    content = io.BytesIO()
    build(sides, args.ignore).save(content)
    write_new([(output, content.getvalue())])
    print(output)


if __name__ == "__main__":
    main()
