"""Write a figure as PDF (for the report; no creation date, so reruns are byte-identical) and PNG."""
from pathlib import Path

import matplotlib.pyplot as plt

DPI = 200


def save(figure, pdf: Path, png: Path) -> None:
    for path in (pdf, png):
        path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(pdf, metadata={"CreationDate": None})
    figure.savefig(png, dpi=DPI)
    plt.close(figure)
