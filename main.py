"""Scriptorium entry point: the desktop app by default, `python main.py <command>` for the CLI."""
import sys


def main() -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a bundled app: training's spawned child re-enters here
    if sys.argv[1:2] == ["--ingest-worker"]:  # a bundled app's file reader (core.ingest.worker)
        from core.ingest.worker import _child_main

        _child_main()
        return 0
    if len(sys.argv) > 1:
        from core.cli import main as cli_main

        return cli_main(sys.argv[1:])
    from gui.app import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
