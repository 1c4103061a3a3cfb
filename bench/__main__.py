"""``python -m bench``: the ingest benchmark (options: ``--help``); ``python -m bench bi``: BI queries; ``python -m bench pii``: the screen's precision/recall; ``python -m bench search-speed``: search latency; ``python -m bench prep``: recipe vs hand-written SQL; ``python -m bench crash``: SIGKILL and concurrent writers; ``python -m bench load``: the production server under 20 and 50 clients."""

from __future__ import annotations

import sys


def main() -> None:
    """Dispatch to the ingest benchmark (default) or the personal-data screen measurement."""
    args = sys.argv[1:]
    if args and args[0] == "search-speed":
        from bench.search_speed import main as speed_main

        speed_main(args[1:])
        return
    if args and args[0] == "bi":
        from bench.bi import main as bi_main

        bi_main(args[1:])
        return
    if args and args[0] == "prep":
        from bench.prep import main as prep_main

        prep_main(args[1:])
        return
    if args and args[0] == "load":
        from bench.load import main as load_main

        load_main(args[1:])
        return
    if args and args[0] == "crash":
        from bench.crash import main as crash_main

        crash_main(args[1:])
        return
    if args and args[0] == "pii":
        from bench.pii_screen import main as pii_main

        pii_main()
        return
    from bench.ingest import main as ingest_main

    ingest_main(args)


if __name__ == "__main__":
    main()
