"""The Train page's live plots: the losses on top, what the model learned and kept below.

Upper plot: training loss (thin raw line, thick smoothed line: a moving average over ~10 steps)
and held-out loss (dots). Middle plot, sharing the step axis: the quick check at every evaluation
step — the share of exam questions answered right and the share of general answers the base model
knew that are still right (retention), both in per cent, with the retention floor as a dashed
line; it appears with its first point (a run without quick checks keeps the room for the losses).
Bottom row, small: the learning rate each step ran at and the training speed in tokens/s (what a
warm-up, a decay or a slowed machine looks like).

Curves are created once; ``add(data)`` buffers a metric event's numbers and ``redraw()`` feeds the
curves with ``setData`` (the page calls it from its timer), so a fast stream never floods the GUI.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from gui import theme
from gui.evaluation import exam_share
from gui.i18n import tr

LOSS_COLOR, EVAL_COLOR = "#2563eb", "#dc2626"
EXAM_COLOR, KEPT_COLOR = "#059669", "#7c3aed"
RAW_COLOR, LR_COLOR, SPEED_COLOR = "#93c5fd", "#d97706", "#0891b2"
SMOOTHING = 0.1   # exponential moving average weight of each new step's loss (~10 steps)


class TrainPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background=theme.color("plot_bg"), foreground=theme.color("plot_fg"))
        self.series: dict[str, tuple[list, list]] = {
            name: ([], []) for name in ("loss", "smooth", "eval", "exam", "kept", "lr", "speed")}
        self._sized = False   # the lower plot got its share of the height since it appeared

        self.loss = pg.PlotWidget()
        self.loss.setLabel("bottom", tr("step"))
        self.loss.setLabel("left", tr("loss"))
        # one grid, across, at the major ticks: pyqtgraph draws a grid by replaying the axis' picture
        # over the whole plot, and full x+y grids at every tick level on four plots took 40–60 ms of
        # each redraw (measured; under load a window that looked frozen) — now ~10 ms. The other
        # plots get a few fixed lines or none.
        self.loss.showGrid(x=False, y=True, alpha=0.25)
        self.loss.getAxis("left").setStyle(maxTickLevel=0)
        self.raw_curve = self.loss.plot([], [], pen=pg.mkPen(RAW_COLOR, width=1))
        self.train_curve = self.loss.plot([], [], pen=pg.mkPen(LOSS_COLOR, width=2), name=tr("training loss"))
        self.eval_curve = self.loss.plot([], [], pen=pg.mkPen(EVAL_COLOR, width=2), symbol="o", symbolSize=7,
                                         symbolBrush=EVAL_COLOR, name=tr("held-out (eval) loss"))
        # each plot's legend is a line of text above it: inside a small plot a legend hid the curves
        self.loss_key = _key(f"<span style='color:{LOSS_COLOR}'>━</span> {tr('training loss')} "
                             f"<span style='color:{RAW_COLOR}'>━</span> {tr('(each step)')} &nbsp; "
                             f"<span style='color:{EVAL_COLOR}'>●</span> {tr('held-out (eval) loss')}")

        self.share = pg.PlotWidget()
        self.share.setObjectName("sharePlot")
        self.share.setLabel("left", "%")
        for level in (25, 50, 75):
            self.share.addItem(pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen((128, 128, 128, 50), width=1)))
        self.share.setXLink(self.loss)
        self.share.setYRange(0, 100, padding=0.06)
        self.share.getViewBox().setMouseEnabled(x=True, y=False)
        self.share.enableAutoRange(axis="y", enable=False)
        self.share.setMinimumHeight(70)
        self.share.hideAxis("bottom")   # the steps are read on the loss plot above (the x axes are linked)
        self.share.getAxis("left").setTicks([[(0, "0"), (50, "50"), (100, "100")], [(25, ""), (75, "")]])
        self.exam_curve = self.share.plot([], [], pen=pg.mkPen(EXAM_COLOR, width=2), symbol="s", symbolSize=7,
                                          symbolBrush=EXAM_COLOR, symbolPen=EXAM_COLOR)
        self.kept_curve = self.share.plot([], [], pen=pg.mkPen(KEPT_COLOR, width=2), symbol="t1", symbolSize=8,
                                          symbolBrush=KEPT_COLOR, symbolPen=KEPT_COLOR)
        self.floor = pg.InfiniteLine(pos=90, angle=0, pen=pg.mkPen("#9aa4b2", width=1, style=Qt.PenStyle.DashLine))
        self.share.addItem(self.floor)
        self.key = _key(f"<span style='color:{EXAM_COLOR}'>■</span> {tr('exam questions answered right')}"
                        f" &nbsp; <span style='color:{KEPT_COLOR}'>▲</span> {tr('general knowledge kept')}"
                        f" &nbsp; <span style='color:#9aa4b2'>- -</span> {tr('floor')}")
        self.key.setToolTip(tr("Checked at every evaluation step: a few exam questions from your books and general "
                               "questions, the same ones each time (step 0 is the base model before training)"))
        self.lower = QWidget()
        lower = QVBoxLayout(self.lower)
        lower.setContentsMargins(0, 0, 0, 0)
        lower.setSpacing(2)
        lower.addWidget(self.key)
        lower.addWidget(self.share, 1)
        self.lower.setVisible(False)

        self.rate = _small_plot(self.loss, tr("learning rate"), LR_COLOR)
        self.speed = _small_plot(self.loss, tr("tokens/s"), SPEED_COLOR)
        self.rate_curve = self.rate.plot([], [], pen=pg.mkPen(LR_COLOR, width=2))
        self.speed_curve = self.speed.plot([], [], pen=pg.mkPen(SPEED_COLOR, width=2))
        self.bottom = QWidget()
        row = QHBoxLayout(self.bottom)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.rate)
        row.addWidget(self.speed)
        self.bottom.setVisible(False)

        upper = QWidget()
        column = QVBoxLayout(upper)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.loss_key)
        column.addWidget(self.loss, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(self.lower)
        self.splitter.addWidget(self.bottom)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def set_floor(self, share: float) -> None:
        """The retention floor (0–1) the dashed line marks."""
        self.floor.setValue(100 * share)

    def clear(self) -> None:
        for xs, ys in self.series.values():
            xs.clear()
            ys.clear()
        self.lower.setVisible(False)
        self.bottom.setVisible(False)
        self._changed = True
        self.redraw()

    def add(self, data: dict) -> None:
        """Buffer the numbers of one metric event or metrics.jsonl row (drawn on the next ``redraw``)."""
        step = data.get("step")
        if step is None:
            return
        if "loss" in data:
            self._append("loss", step, data["loss"])
            smooth = self.series["smooth"][1]
            last = smooth[-1] if smooth and self.series["smooth"][0][-1] < step else None
            self._append("smooth", step, data["loss"] if last is None else last + SMOOTHING * (data["loss"] - last))
        if data.get("lr") is not None:
            self._append("lr", step, data["lr"])
        if data.get("tokens_per_s") is not None:
            self._append("speed", step, data["tokens_per_s"])
        if "eval_loss" in data:
            self._append("eval", step, data["eval_loss"])
        share = exam_share(data)
        if share is not None:
            self._append("exam", step, 100 * share)
        if data.get("retention") is not None:
            self._append("kept", step, 100 * data["retention"])

    def _append(self, name: str, step: int, value: float) -> None:
        self._changed = True
        xs, ys = self.series[name]
        if xs and xs[-1] == step:   # the same step again (a resumed run): the newer value wins
            ys[-1] = value
        else:
            xs.append(step)
            ys.append(value)

    def has_checks(self) -> bool:
        return bool(self.series["exam"][0] or self.series["kept"][0])

    _changed = True

    def redraw(self) -> None:
        """Hand the buffered points to the curves — only when some arrived: setData re-ranges and
        repaints every axis, and the page's timer calls this four times a second."""
        if not self._changed:
            return
        self._changed = False
        self.raw_curve.setData(*self.series["loss"])
        self.train_curve.setData(*self.series["smooth"])
        self.rate_curve.setData(*self.series["lr"])
        self.speed_curve.setData(*self.series["speed"])
        if self.series["lr"][0] and self.bottom.isHidden():
            self.bottom.setVisible(True)
        self.eval_curve.setData(*self.series["eval"])
        self.exam_curve.setData(*self.series["exam"])
        self.kept_curve.setData(*self.series["kept"])
        if self.has_checks() and self.lower.isHidden():
            self.lower.setVisible(True)
            self._sized = False
            self._fit()

    def _fit(self) -> None:
        """Loss plot 3/6, checks 2/6, speed row 1/6 of the height, once the splitter has a real height."""
        height = self.splitter.height()
        if not self._sized and not self.lower.isHidden() and height > 100:
            small = height // 6 if not self.bottom.isHidden() else 0
            self.splitter.setSizes([(height - small) * 3 // 5, (height - small) * 2 // 5, small])
            self._sized = True

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()


def _small_plot(linked: pg.PlotWidget, title: str, color: str) -> pg.PlotWidget:
    """A short plot under the others, its step axis linked to theirs, titled instead of a legend."""
    plot = pg.PlotWidget()
    plot.setTitle(f"<span style='color:{color}; font-size:11px'>{title}</span>")
    plot.setXLink(linked)
    plot.hideAxis("bottom")
    plot.getAxis("left").setWidth(48)
    plot.setMinimumHeight(60)
    plot.getViewBox().setMouseEnabled(x=True, y=False)
    return plot


def _key(html: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.color('plot_fg')}; font-size: 12px;")
    return label
