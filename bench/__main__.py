"""``python -m bench``: the ingest benchmark (options: ``--help``); ``python -m bench bi``: BI queries; ``python -m bench pii``: the screen's precision/recall; ``python -m bench search-speed``: search latency; ``python -m bench search-quality``: nDCG@10 and recall@10 against three baselines; ``python -m bench prep``: recipe vs hand-written SQL; ``python -m bench crash``: SIGKILL and concurrent writers; ``python -m bench load``: the production server under 20 and 50 clients; ``python -m bench portal``: the CKAN API against tuned Datasette at 20,000 datasets and 1M rows."""

from __future__ import annotations

import importlib
import sys

# subcommand → module whose ``main`` runs it; no subcommand runs the ingest benchmark
COMMANDS = {
    "search-speed": ("bench.search_speed", True),
    "search-quality": ("bench.search_quality", True),
    "bi": ("bench.bi", True),
    "prep": ("bench.prep", True),
    "load": ("bench.load", True),
    "portal": ("bench.portal", True),
    "crash": ("bench.crash", True),
    "pii": ("bench.pii_screen", False),
}


def main() -> None:
    """Dispatch to the benchmark named by the first argument (default: ingest)."""
    args = sys.argv[1:]
    if args and args[0] in COMMANDS:
        module, takes_args = COMMANDS[args[0]]
        run = importlib.import_module(module).main
        if takes_args:
            run(args[1:])
        else:
            run()
        return
    from bench.ingest import main as ingest_main

    ingest_main(args)


if __name__ == "__main__":
    main()
