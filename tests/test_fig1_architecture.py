"""Figure 1, the architecture schematic of spec E9: every part it must name, its dashed optional parts
and frame, and the files it writes."""
import pytest
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from repro.figures import fig1_architecture

PARTS = ["Input token $x_t$", r"$q_t,\ k_t,\ v_t,\ d_t$", "RuleMix + retention",
         r"S_t = \rho_t \odot S_{t-1} + (1-\rho_t) \odot \sum_i \pi_{t,i}",
         r"k v^{\top},\ \mathrm{Diag}(d),\ \mathrm{Sym}(k v^{\top})", r"y_t = W_o\, \mathrm{vec}(S_t\, q_t)",
         "DeepEmbed modulator $m_t$", r"\mathrm{FFN}(y_t) \odot (1 + m_t)", "Output $z_t$",
         "input residual path", "repeat shared weights"]
OPTIONAL_PARTS = ["UT step embedding", "Spectral guard", "Residual memory", "Shared depth step $l$ (repeat $K$ times)"]
SOLID_PARTS = ["Input token", "Token projections", "RuleMix + retention", "State readout", "Shared FFN", "Output"]


@pytest.fixture(scope="module")
def figure():
    figure = fig1_architecture.draw()
    figure.canvas.draw()
    return figure


def texts(figure) -> list[Text]:
    return [text for text in figure.findobj(Text) if text.get_text()]


def enclosing_patch(figure, text: Text):
    """The smallest box around the centre of a text: the one it labels."""
    renderer = figure.canvas.get_renderer()
    centre = text.get_window_extent(renderer).get_points().mean(axis=0)
    around = [patch for patch in figure.axes[0].patches if isinstance(patch, FancyBboxPatch) and patch.contains_point(centre)]
    return min(around, key=lambda patch: patch.get_window_extent(renderer).width * patch.get_window_extent(renderer).height)


def test_figure_1_names_every_part_of_the_architecture(figure):
    drawn = "\n".join(text.get_text() for text in texts(figure))
    for part in PARTS + OPTIONAL_PARTS:
        assert part in drawn, part


@pytest.mark.parametrize("part, linestyle", [(part, "--") for part in OPTIONAL_PARTS] + [(part, "-") for part in SOLID_PARTS])
def test_figure_1_draws_the_optional_parts_and_the_repeated_step_dashed(figure, part, linestyle):
    text, = [text for text in texts(figure) if text.get_text().startswith(part)]
    assert enclosing_patch(figure, text).get_linestyle() == linestyle


def test_figure_1_writes_a_pdf_and_a_png(tmp_path):
    pdf, png = tmp_path / "fig1.pdf", tmp_path / "fig1.png"
    fig1_architecture.main(["--out-pdf", str(pdf), "--out-png", str(png)])
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 1000
