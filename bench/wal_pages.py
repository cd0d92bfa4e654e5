#!/usr/bin/env python3
"""Which B-trees the commits in a hub's write-ahead log wrote, in pages per commit.

Every page a commit dirties is written to the log once per commit (and copied into the
database at the next checkpoint), so pages per commit, divided by the units in a commit, is
the disk cost of a purchase. This names the B-tree (table or index) behind each page.

Usage: bench/wal_pages.py DATA_DIR [--last N]

DATA_DIR is a *copy* of a hub's data directory taken while its log still holds the commits to
look at: for example, drive purchases at a running hub, `kill -9` it, and copy the directory
(a clean stop checkpoints the log away). The copy is opened read-only; SQLite reads the log to
map page numbers to B-trees (dbstat), which needs a SQLite built with the dbstat table
(Debian's is).
"""

import argparse
import collections
import sqlite3
import struct
import sys
from pathlib import Path

WAL_HEADER = struct.Struct(">8I")  # magic, version, page size, checkpoint, salt-1, salt-2, cksum
FRAME_HEADER = struct.Struct(">4I")  # page number, database size (commits only), salt-1, salt-2
FRAME_HEADER_BYTES = 24


def read_commits(wal_path):
    """The log's commits, oldest first, each as the list of page numbers its frames wrote."""
    data = wal_path.read_bytes()
    if len(data) < WAL_HEADER.size:
        raise SystemExit(f"{wal_path}: no log header (the log is empty)")
    _, _, page_size, _, salt1, salt2, _, _ = WAL_HEADER.unpack_from(data)
    commits, current, offset = [], [], WAL_HEADER.size
    while offset + FRAME_HEADER_BYTES + page_size <= len(data):
        page, db_size, s1, s2 = FRAME_HEADER.unpack_from(data, offset)
        if (s1, s2) != (salt1, salt2):
            break  # frames left from before the log last restarted
        current.append(page)
        if db_size != 0:
            commits.append(current)
            current = []
        offset += FRAME_HEADER_BYTES + page_size
    return page_size, commits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="copy of a hub data directory, log included")
    parser.add_argument("--last", type=int, default=200, help="commits to count (default 200)")
    args = parser.parse_args()

    db_path = args.data_dir / "kizuna.db"
    wal_path = args.data_dir / "kizuna.db-wal"
    if not wal_path.exists():
        sys.exit(f"{wal_path} does not exist: copy the directory before the hub stops cleanly")
    page_size, commits = read_commits(wal_path)
    if not commits:
        sys.exit(f"{wal_path}: no complete commit in the log")
    recent = commits[-args.last:]

    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        owner = dict(connection.execute("SELECT pageno, name FROM dbstat"))
    except sqlite3.OperationalError as error:
        sys.exit(f"cannot read dbstat ({error}): this SQLite lacks the dbstat table")

    per_tree = collections.Counter()
    pages = 0
    for commit in recent:
        distinct = set(commit)
        pages += len(distinct)
        for page in distinct:
            per_tree[owner.get(page, "(freed or beyond the database)")] += 1
    count = len(recent)
    print(f"page size {page_size}; {len(commits)} commits in the log, the last {count} counted: "
          f"{pages / count:.1f} distinct pages ({pages / count * page_size / 1024:.0f} KiB) "
          f"per commit")
    for name, hits in per_tree.most_common():
        print(f"  {name:40s} {hits / count:8.2f} pages/commit")


if __name__ == "__main__":
    main()
