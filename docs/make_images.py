"""Render the README's pictures: page 1 of the advisory and of the leaders' brief for the flagship example.

    python docs/make_images.py    # needs the test extra (pypdfium2) and the publish extra (WeasyPrint)

Runs the real CLI on ``examples/apt-exchange-intrusion.pdf`` into a temporary folder and writes
``docs/images/{advisory,brief}-page1.png``, the advisory's matrix page and the brief's second page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"


def main() -> None:
    import pypdfium2

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1795651200"}
        example = ROOT / "examples" / "apt-exchange-intrusion.pdf"
        cmd = [sys.executable, "-m", "ttpmap.cli", "analyze", str(example), "-o", tmp, "-e", "advisory,brief"]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        OUT.mkdir(parents=True, exist_ok=True)
        for kind in ("advisory", "brief"):
            pdf = pypdfium2.PdfDocument(str(Path(tmp) / f"apt-exchange-intrusion-{kind}.pdf"))
            pages = {"page1": 0}
            if kind == "brief":
                pages["page2"] = 1
            else:  # the ATT&CK matrix figure sits on the advisory's landscape page
                landscape = [i for i in range(len(pdf)) if pdf[i].get_width() > pdf[i].get_height()]
                if landscape:
                    pages["matrix"] = landscape[0]
            for label, index in pages.items():
                image = pdf[index].render(scale=1.1).to_pil().convert("P", palette=1, colors=128)
                target = OUT / f"{kind}-{label}.png"
                image.save(target, optimize=True)
                print(target)


if __name__ == "__main__":
    main()
