"""``make bench``: run every benchmark module and print each figure with what it measured.

Each ``bench/bench_<name>.py`` exposes ``run() -> list[(name, value, unit, what)]``. They run in
a configured, migrated Django (development settings, the DATABASE_URL given) and clean up after
themselves. ``python -m bench jurisdictions`` runs one module.
"""

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("NIGRANI_DEV", "1")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)


def main(selected: list[str]) -> int:
    _setup()
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    if selected:
        names = [n for n in names if n in selected]
    print(f"Nigrani benchmarks on {os.cpu_count()} cores ({', '.join(names)})\n", flush=True)
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.perf_counter()
        figures = module.run()
        for figure, value, unit, what in figures:
            print(f"  {figure:<34} {value:>12,} {unit:<10} {what}", flush=True)
        print(f"  ({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
