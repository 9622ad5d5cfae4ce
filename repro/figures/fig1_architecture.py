"""Figure 1: the UniMatrix architecture schematic (spec E9); it reads no data.

One shared depth step, drawn bottom to top: the input token, its projections, the RuleMix update of
the matrix state with retention, the state readout, the shared FFN with its DeepEmbed modulator, and
the output. Dashed boxes are the optional parts (UT step embedding, spectral guard, residual memory);
a dashed frame marks the step that repeats K times with shared weights, beside the input residual path."""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from repro.figures.output import save  # noqa: E402

SIZE_INCHES = (7.2, 6.6)
X_RANGE, Y_RANGE = (0.0, 12.0), (0.0, 11.0)
FONT_SIZE = 9
CORE_COLOUR, OPTIONAL_COLOUR, FRAME_COLOUR = "#dbe9f6", "#f4f4f4", "#555555"
MAIN_X, MAIN_WIDTH = 5.2, 6.0      # the centre column of the step's boxes
SIDE_X, SIDE_WIDTH = 10.35, 2.7    # the column of the optional boxes
RESIDUAL_X, REPEAT_X = 1.55, 0.6  # the input residual path, and the repeat arrow outside the frame
FRAME = (1.05, 1.55, 10.75, 8.65)  # x, y, width, height of the shared depth step

# (y centre, height, lines): the step's boxes, in the order a token goes through them.
CORE_BOXES = [
    (2.55, 0.75, ["Token projections", r"$q_t,\ k_t,\ v_t,\ d_t$"]),
    (4.55, 1.75, ["RuleMix + retention (matrix-state update)",
                  r"$S_t = \rho_t \odot S_{t-1} + (1-\rho_t) \odot \sum_i \pi_{t,i}\, U_t^{\,i}$",
                  r"$U \in \{\, k v^{\top},\ \mathrm{Diag}(d),\ \mathrm{Sym}(k v^{\top}) \,\}$"]),
    (6.5, 0.8, ["State readout", r"$y_t = W_o\, \mathrm{vec}(S_t\, q_t)$"]),
    (8.35, 1.0, ["Shared FFN with DeepEmbed modulator $m_t$", r"$\mathrm{FFN}(y_t) \odot (1 + m_t)$"]),
]
# (y centre, lines, the y of the step box it feeds): optional parts, drawn dashed.
OPTIONAL_BOXES = [
    (2.55, ["UT step embedding", r"$e_l$"], 2.55),
    (4.55, ["Spectral guard /", "clamp"], 4.55),
    (6.5, ["Residual memory", r"$r_t$"], 6.5),
]
INPUT_Y, OUTPUT_Y, SUM_Y = 0.55, 10.6, 9.55


def _box(axes, x: float, y: float, width: float, height: float, lines: list, optional: bool) -> None:
    axes.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05,rounding_size=0.15",
                                  facecolor=OPTIONAL_COLOUR if optional else CORE_COLOUR, edgecolor="black",
                                  linewidth=1.0, linestyle="--" if optional else "-"))
    axes.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=FONT_SIZE, linespacing=1.6)


def _arrow(axes, start: tuple, end: tuple, style: str = "-|>", **kwargs) -> None:
    axes.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=10, linewidth=1.0,
                                   color=kwargs.pop("color", "black"), **kwargs))


def draw():
    """The schematic as a matplotlib Figure (its texts and patches are what the tests read)."""
    figure, axes = plt.subplots(figsize=SIZE_INCHES)
    axes.set_xlim(*X_RANGE)
    axes.set_ylim(*Y_RANGE)
    axes.axis("off")

    x, y, width, height = FRAME
    axes.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0,rounding_size=0.25", facecolor="none",
                                  edgecolor=FRAME_COLOUR, linewidth=1.2, linestyle="--"))
    axes.text(x + 0.2, y + height - 0.2, r"Shared depth step $l$ (repeat $K$ times)", ha="left", va="top",
              fontsize=FONT_SIZE, style="italic", color=FRAME_COLOUR)

    _box(axes, MAIN_X, INPUT_Y, 2.6, 0.6, [r"Input token $x_t$"], optional=False)
    _box(axes, MAIN_X, OUTPUT_Y, 2.6, 0.6, [r"Output $z_t$"], optional=False)
    for y_centre, box_height, lines in CORE_BOXES:
        _box(axes, MAIN_X, y_centre, MAIN_WIDTH, box_height, lines, optional=False)
    for y_centre, lines, target in OPTIONAL_BOXES:
        _box(axes, SIDE_X, y_centre, SIDE_WIDTH, 0.8, lines, optional=True)
        _arrow(axes, (SIDE_X - SIDE_WIDTH / 2 - 0.05, y_centre), (MAIN_X + MAIN_WIDTH / 2 + 0.05, target), linestyle="--")

    edges = [INPUT_Y + 0.3] + [edge for y_centre, box_height, _ in CORE_BOXES
                               for edge in (y_centre - box_height / 2, y_centre + box_height / 2)]
    for start, end in zip(edges[0::2], edges[1::2]):
        _arrow(axes, (MAIN_X, start + 0.05), (MAIN_X, end - 0.05))

    # The input residual path joins the FFN's output at a sum node below z_t.
    axes.add_patch(plt.Circle((MAIN_X, SUM_Y), 0.2, facecolor="white", edgecolor="black", linewidth=1.0))
    axes.text(MAIN_X, SUM_Y, "+", ha="center", va="center", fontsize=FONT_SIZE + 2)
    _arrow(axes, (MAIN_X, edges[-1] + 0.05), (MAIN_X, SUM_Y - 0.2))
    _arrow(axes, (MAIN_X, SUM_Y + 0.2), (MAIN_X, OUTPUT_Y - 0.35))
    axes.plot([MAIN_X, RESIDUAL_X, RESIDUAL_X], [1.9, 1.9, SUM_Y], color="black", linewidth=1.0)
    _arrow(axes, (RESIDUAL_X, SUM_Y), (MAIN_X - 0.2, SUM_Y))
    axes.text(RESIDUAL_X - 0.12, 6.0, "input residual path", rotation=90, ha="right", va="center", fontsize=FONT_SIZE - 1)

    # The next depth step runs the same weights on this step's output.
    repeat_y = (INPUT_Y + 0.3 + FRAME[1]) / 2
    axes.plot([MAIN_X - 1.3, REPEAT_X, REPEAT_X], [OUTPUT_Y, OUTPUT_Y, repeat_y], color=FRAME_COLOUR, linewidth=1.0, linestyle=":")
    _arrow(axes, (REPEAT_X, repeat_y), (MAIN_X - 0.05, repeat_y), color=FRAME_COLOUR, linestyle=":")
    axes.text(REPEAT_X - 0.12, 6.0, "repeat shared weights", rotation=90, ha="right", va="center", fontsize=FONT_SIZE - 1,
              color=FRAME_COLOUR)
    figure.tight_layout(pad=0.2)
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    save(draw(), args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
