"""PNG charts of a result file, drawn with Pillow (already a dependency): the ratio of each
scenario to its ceiling against its goal, and p50/p99 latencies of each scenario."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH, ROW, LEFT, RIGHT, TOP = 900, 34, 120, 40, 50
INK, GRID, OURS, CEILING, GOAL, MISS = "#222", "#ddd", "#3b7dd8", "#bbb", "#1a9c4a", "#d8453b"


def _goal_ratio(goal: str) -> float | None:
    match = re.search(r">=\s*(\d+)%", goal)
    return int(match.group(1)) / 100 if match else None


def _canvas(rows: int, title: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, TOP + rows * ROW + 40), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 12), title, fill=INK, font=ImageFont.load_default(16))
    return image, draw


def ratios(report: dict[str, Any], path: Path) -> None:
    rows = [s for s in report["scenarios"].values() if s.get("ratio") is not None]
    image, draw = _canvas(len(rows), "Figure / ceiling (median of rounds; bar = min-max)")
    span = WIDTH - LEFT - RIGHT
    for x in (0.25, 0.5, 0.75, 1.0):
        gx = LEFT + x * span
        draw.line([(gx, TOP - 6), (gx, TOP + len(rows) * ROW)], fill=GRID)
        draw.text((gx - 12, TOP + len(rows) * ROW + 6), f"{x:.0%}", fill=INK)
    for i, scenario in enumerate(rows):
        y = TOP + i * ROW
        ratio = min(scenario["ratio"], 1.0)
        goal = _goal_ratio(scenario["goal"])
        colour = OURS if scenario.get("met") else MISS
        draw.text((10, y + 8), scenario["scenario"], fill=INK)
        draw.rectangle([LEFT, y + 6, LEFT + ratio * span, y + ROW - 8], fill=colour)
        spread = scenario["ratio_rounds"]
        low, high = min(spread["min"], 1.0), min(spread["max"], 1.0)
        draw.line([(LEFT + low * span, y + ROW // 2), (LEFT + high * span, y + ROW // 2)], INK)
        draw.text((LEFT + ratio * span + 6, y + 8), f"{scenario['ratio']:.2f}", fill=INK)
        if goal is not None:
            gx = LEFT + goal * span
            draw.line([(gx, y + 2), (gx, y + ROW - 4)], fill=GOAL, width=3)
    image.save(path)


def latencies(report: dict[str, Any], path: Path) -> None:
    rows = [s for s in report["scenarios"].values() if s["p99_ms"]["median"] > 0]
    image, draw = _canvas(len(rows), "Latency p50 (dark) and p99 (light), ms, log scale")
    top = max(max(s["p99_ms"]["max"], s.get("ceiling_p99_ms", {}).get("max", 0)) for s in rows)
    span = WIDTH - LEFT - RIGHT
    scale = math.log10(max(top, 10.0) * 1.5) + 1  # from 0.1 ms

    def at(ms: float) -> float:
        return LEFT + span * max(0.0, math.log10(max(ms, 0.1)) + 1) / scale

    for ms in (0.1, 1, 10, 100, 1000, 10000):
        if at(ms) <= WIDTH - RIGHT:
            draw.line([(at(ms), TOP - 6), (at(ms), TOP + len(rows) * ROW)], fill=GRID)
            draw.text((at(ms) - 8, TOP + len(rows) * ROW + 6), f"{ms:g}", fill=INK)
    for i, scenario in enumerate(rows):
        y = TOP + i * ROW
        draw.text((10, y + 8), scenario["scenario"], fill=INK)
        p50, p99 = scenario["p50_ms"]["median"], scenario["p99_ms"]["median"]
        draw.rectangle([LEFT, y + 6, at(p99), y + ROW - 8], fill="#a9c8f0")
        draw.rectangle([LEFT, y + 6, at(p50), y + ROW - 8], fill=OURS)
        ceiling = scenario.get("ceiling_p99_ms", {}).get("median", 0)
        if ceiling:
            draw.line([(at(ceiling), y + 2), (at(ceiling), y + ROW - 4)], fill=CEILING, width=3)
        draw.text((at(p99) + 6, y + 8), f"{p50:.1f} / {p99:.1f}", fill=INK)
    image.save(path)


def plot(report: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "ratios.png", folder / "latency.png"]
    ratios(report, paths[0])
    latencies(report, paths[1])
    return paths
