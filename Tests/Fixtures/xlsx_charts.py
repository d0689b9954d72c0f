#!/usr/bin/env python3
"""Describes an .xlsx as JSON for the spreadsheet tests: for each sheet, its charts (read from the
zip's XML parts, following the relationships sheet -> drawing -> chart), each series with the cells
its title, x and y values (and error bars) reference, resolved to the values in those cells (openpyxl; a title
given as text, as it is), and the
sheet's frozen pane, autofilter, cell fills and whether each cell is a number.

    python3 xlsx_charts.py FILE.xlsx
"""
import json, posixpath, re, sys, zipfile
import xml.etree.ElementTree as ET
import openpyxl

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
      "c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
CHART_TYPES = ["scatterChart", "lineChart", "barChart"]


def rels(z, part):
    path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if path not in z.namelist():
        return {}
    out = {}
    for r in ET.fromstring(z.read(path)).findall("rel:Relationship", NS):
        target = r.get("Target")
        out[r.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
    return out


def resolve(wb, ref):
    """'sheet'!$B$1:$B$4 -> the cell values; "text" (a title given as text, as LibreOffice writes it) -> [text]."""
    if len(ref) >= 2 and ref[0] == ref[-1] == '"':
        return [ref[1:-1].replace('""', '"')]
    m = re.fullmatch(r"'?(.*?)'?!(.+)", ref)
    ws = wb[m.group(1).replace("''", "'")]
    cells = ws[m.group(2).replace("$", "")]
    if not isinstance(cells, tuple):
        return [cells.value]
    return [c.value for row in cells for c in (row if isinstance(row, tuple) else (row,))]


def main(path):
    wb = openpyxl.load_workbook(path)
    out = {"sheets": wb.sheetnames, "charts": {}, "freeze": {}, "autofilter": {}, "cells": {}}
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        book_rels = rels(z, "xl/workbook.xml")
        for sheet in book.find("m:sheets", NS).findall("m:sheet", NS):
            name = sheet.get("name")
            part = book_rels[sheet.get("{%s}id" % NS["r"])]
            charts = []
            sheet_rels = rels(z, part)
            root = ET.fromstring(z.read(part))
            for drawing in root.findall("m:drawing", NS):
                drawing_part = sheet_rels[drawing.get("{%s}id" % NS["r"])]
                for chart_part in rels(z, drawing_part).values():
                    if "/charts/" not in chart_part:
                        continue
                    plot = ET.fromstring(z.read(chart_part)).find("c:chart/c:plotArea", NS)
                    for kind in CHART_TYPES:
                        for chart in plot.findall(f"c:{kind}", NS):
                            series = []
                            for ser in chart.findall("c:ser", NS):
                                refs = {}
                                for key, tags in (("title", ["c:tx/c:strRef/c:f"]), ("x", ["c:xVal/c:numRef/c:f", "c:cat/c:strRef/c:f", "c:cat/c:numRef/c:f"]),
                                                  ("y", ["c:yVal/c:numRef/c:f", "c:val/c:numRef/c:f"]),
                                                  ("plus", ["c:errBars/c:plus/c:numRef/c:f"]), ("minus", ["c:errBars/c:minus/c:numRef/c:f"])):
                                    for tag in tags:
                                        f = ser.find(tag, NS)
                                        if f is not None:
                                            refs[key + "_ref"] = f.text
                                            refs[key] = resolve(wb, f.text)
                                            break
                                if "title" not in refs and ser.find("c:tx/c:v", NS) is not None:
                                    refs["title"] = [ser.find("c:tx/c:v", NS).text]  # a title given as text, not a cell
                                series.append(refs)
                            charts.append({"type": kind, "series": series})
            out["charts"][name] = charts
            ws = wb[name]
            out["freeze"][name] = ws.freeze_panes
            out["autofilter"][name] = ws.auto_filter.ref
            out["cells"][name] = [[{"v": c.value, "number": isinstance(c.value, (int, float)),
                                    "fill": c.fill.fgColor.rgb if c.fill and c.fill.fill_type == "solid" else None}
                                   for c in row] for row in ws.iter_rows()]
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
