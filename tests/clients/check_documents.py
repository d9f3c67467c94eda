#!/usr/bin/env python3
"""Reads downloaded documents the way a user's tools would, for tests/clients/documents.test.mjs.

    check_documents.py pdf-text FILE   prints the PDF's text (pypdf), page after page
    check_documents.py xlsx FILE       prints a JSON summary of the workbook (openpyxl)

The XLSX summary has, per sheet: its name, dimensions, max_row/max_column, freeze_panes, the
autofilter range, and every non-empty cell as
{"ref", "row", "column", "type" (openpyxl's data_type: n, s, d, b, f, e), "is_date",
"number_format", "value" (dates as ISO strings), "cached" (the value Excel shows, formulas' cached
results)}.

Exit status 3 with a message on stderr when a module is missing (pip install -r requirements.txt).
"""

import datetime
import json
import sys

USAGE = "usage: check_documents.py pdf-text FILE | check_documents.py xlsx FILE"


def require(module):
    try:
        return __import__(module)
    except ImportError as e:
        sys.stderr.write(
            f"missing Python module {module!r} ({e}) for {sys.executable}: "
            "pip install -r tests/clients/requirements.txt\n"
        )
        sys.exit(3)


def pdf_text(path):
    pypdf = require("pypdf")
    reader = pypdf.PdfReader(path)
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def xlsx_summary(path):
    openpyxl = require("openpyxl")
    # Twice: formulas as written, and the cached values Excel would show.
    book = openpyxl.load_workbook(path)
    shown = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for ws in book.worksheets:
        cached = shown[ws.title]
        cells = []
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                cells.append(
                    {
                        "ref": cell.coordinate,
                        "row": cell.row,
                        "column": cell.column,
                        "type": cell.data_type,
                        "is_date": bool(cell.is_date),
                        "number_format": cell.number_format,
                        "bold": bool(cell.font and cell.font.b),
                        "value": plain(cell.value),
                        "cached": plain(cached[cell.coordinate].value),
                    }
                )
        sheets.append(
            {
                "name": ws.title,
                "dimensions": ws.dimensions,
                "max_row": ws.max_row,
                "max_column": ws.max_column,
                "freeze_panes": ws.freeze_panes,
                "auto_filter": ws.auto_filter.ref,
                "cells": cells,
            }
        )
    return {"sheets": sheets}


def main(argv):
    if len(argv) != 3 or argv[1] not in ("pdf-text", "xlsx"):
        sys.stderr.write(USAGE + "\n")
        return 2
    command, path = argv[1], argv[2]
    if command == "pdf-text":
        sys.stdout.write(pdf_text(path))
    else:
        json.dump(xlsx_summary(path), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
