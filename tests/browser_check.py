"""Looking at the printed report in a real browser: a test-only script injected into a copy of the HTML measures,
after layout, every word in every table cell (a word whose glyphs sit on more than one line was broken), cells
and tables wider than the page, and each SVG's rendered box; Chromium's --dump-dom hands the result back."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

# Page content widths (paper width minus the 12 mm side margins of the shipped template), landscape.
CONTENT_WIDTH_MM = {"a4": 297 - 24, "letter": 279.4 - 24}

_CHECK = r"""
<script>
(function () {
  const broken = [], overflow = [], svgs = [];
  for (const cell of document.querySelectorAll("td, th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const re = /\S+/g; let m;
      while ((m = re.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
    if (cell.scrollWidth > cell.clientWidth + 1) overflow.push(cell.textContent.slice(0, 80));
  }
  const right = document.body.getBoundingClientRect().right;
  const wide = Array.from(document.querySelectorAll("table"))
    .filter(t => t.getBoundingClientRect().right > right + 1)
    .map(t => ((t.closest("section") || document.body).id || "(no id)") + " " + Math.round(t.getBoundingClientRect().width) + "px of " + Math.round(document.body.getBoundingClientRect().width) + "px");
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBBox(), shown = svg.getBoundingClientRect();
    svgs.push({title: (svg.querySelector("title") || {}).textContent || "",
               bbox: [box.width, box.height], shown: [shown.width, shown.height]});
  }
  const out = document.createElement("pre");
  out.id = "layout-check";
  out.textContent = JSON.stringify({broken, overflow, wide, svgs});
  document.body.appendChild(out);
})();
</script>
"""


def browser_argv(browser: str, profile: Path) -> list[str]:
    argv = [browser, "--headless", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--no-sandbox")
    return argv


def layout_check(browser: str, html: str, work: Path, paper: str = "a4") -> dict[str, Any]:
    """Lay the page out at the printed content width and return what the injected script measured."""
    width = f"{CONTENT_WIDTH_MM[paper]}mm"
    style = f"<style>body{{width:{width} !important;max-width:none !important;margin:0 !important}}</style>"
    page = work / f"check-{paper}.html"
    page.write_text(html.replace("</head>", style + "</head>").replace("</body>", _CHECK + "</body>"), "utf-8")
    argv = [*browser_argv(browser, work / "profile"), "--window-size=1400,1000", "--dump-dom", page.as_uri()]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r'<pre id="layout-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the check script left no result (exit {done.returncode}): {done.stderr[-800:]}"
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text)
