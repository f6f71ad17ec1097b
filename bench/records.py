"""Reading and writing result rows (CSV) and the markdown notes that head a results folder."""
from __future__ import annotations

import csv
import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_rows(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Write ``rows`` to ``path`` with exactly ``columns`` (missing values as empty cells)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _cell(row.get(c)) for c in columns})


def read_rows(path: Path) -> list[dict]:
    """Rows as dicts of strings, numbers converted where they parse (empty cells become None)."""
    def convert(text: str):
        if text == "":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    with open(path, newline="") as f:
        return [{k: convert(v) for k, v in row.items()} for row in csv.DictReader(f)]


def write_notes(path: Path, title: str, lines: list[str]) -> Path:
    """A markdown header for the CSV files beside it: machine, versions, dtypes, how and when it was run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(f"# {title}\n\nRun {stamp}.\n\n" + "".join(f"- {line}\n" for line in lines))
    return path
