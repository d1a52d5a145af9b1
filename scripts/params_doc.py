"""Write docs/params.md from the params schema (the descriptions in tracer1kit/params.py).

    .venv/bin/python scripts/params_doc.py           # regenerate docs/params.md
    .venv/bin/python scripts/params_doc.py --check   # exit 1 if docs/params.md is stale

tests/test_params.py fails when the committed file is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tracer1kit.paramdocs import markdown  # noqa: E402 -- after the checkout is on the path

DOC = REPO / "docs" / "params.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare: exit 1 if docs/params.md is stale")
    args = parser.parse_args(argv)
    text = markdown()
    if args.check:
        stale = not DOC.exists() or DOC.read_text(encoding="utf-8") != text
        print(f"{DOC.relative_to(REPO)}: {'stale: run python scripts/params_doc.py' if stale else 'up to date'}")
        return 1 if stale else 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
