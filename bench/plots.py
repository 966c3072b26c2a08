"""The plots of docs/performance.md, drawn from one results JSON (matplotlib).

python -m bench.plots bench/results/latest.json docs/performance
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGETS = ("app", "baseline", "limit")
COLORS = {"app": "#1f77b4", "baseline": "#ff7f0e", "limit": "#2ca02c"}


def plot(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    measures = results["measures"]
    names = list(measures["app"])
    size = results["fixtures"]["products"]
    written = []

    for metric, label, filename in (
        ("rps", "requests/s (higher is better)", "throughput.png"),
        ("p99_ms", "p99 latency, ms (lower is better)", "latency_p99.png"),
    ):
        fig, ax = plt.subplots(figsize=(11, 5))
        width = 0.27
        for i, target in enumerate(TARGETS):
            values = [measures.get(target, {}).get(n.removesuffix("_cached"), {}) for n in names]
            if target == "app":
                values = [measures["app"][n] for n in names]
            xs = [x + (i - 1) * width for x in range(len(names))]
            ax.bar(
                xs,
                [v.get(metric, 0) for v in values],
                width,
                label=target,
                color=COLORS[target],
            )
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.set_title(
            f"{label.split(' (')[0]}: {size} products, {results['config']['workers']} workers"
        )
        ax.legend()
        fig.tight_layout()
        path = out / filename
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

    variants = {k: v for k, v in measures.items() if k not in TARGETS and v}
    if variants:
        fig, ax = plt.subplots(figsize=(8, 4))
        rows = {"default": measures["app"], **variants}
        endpoints = sorted({n for v in variants.values() for n in v})
        width = 0.8 / len(rows)
        for i, (name, data) in enumerate(rows.items()):
            xs = [x + i * width for x in range(len(endpoints))]
            ax.bar(xs, [data.get(e, {}).get("rps", 0) for e in endpoints], width, label=name)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(endpoints))])
        ax.set_xticklabels(endpoints)
        ax.set_ylabel("requests/s")
        ax.set_title("Measured choices")
        ax.legend()
        fig.tight_layout()
        path = out / "choices.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    results = json.loads(Path(argv[0]).read_text())
    for path in plot(results, Path(argv[1])):
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
