"""The welcome panel on an empty Corpus page: what the app does, the embedded model's state, and
the sample project (the app's own manual) one click away. It hides once the corpus has books."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from gui import theme
from gui import i18n
from gui.i18n import tr
from gui.messages import tr_message


class WelcomePanel(QFrame):
    def __init__(self, state) -> None:
        super().__init__()
        self.state = state
        self.job = None
        self.setObjectName("welcome")
        self.setStyleSheet(f"#welcome {{ border: 1px solid {theme.color('card_border')}; border-radius: 8px; "
                           f"background: {theme.color('card')}; }}")
        title = QLabel(tr("<b>Welcome to Scriptorium.</b> Add your books below, choose what the model should learn "
                          "on the Format page, train, then see what it learned and chat with it."))
        title.setWordWrap(True)
        self.model = QLabel()
        self.model.setWordWrap(True)
        self.sample = QPushButton(tr("Try it on a sample: the app's own manual"))
        self.sample.setToolTip(tr("Creates a project holding the user manual, so you can try every step at once"))
        self.sample.clicked.connect(self.open_sample)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.gpu = QLabel()
        self.gpu.setWordWrap(True)
        self.gpu.setStyleSheet(f"color: {theme.color('warn')};")
        self.gpu.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.sample)
        row.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.model)
        layout.addWidget(self.gpu)
        layout.addLayout(row)
        self.show_model_state()

    def show_model_state(self) -> None:
        from core.firstrun import embedded_model_state, gpu_hint

        hint = gpu_hint()  # a GPU this CPU build of torch cannot use: say how to get the CUDA build
        self.gpu.setText(tr_message(hint) if hint else "")
        self.gpu.setVisible(bool(hint))

        model = embedded_model_state()
        if not model["ready"]:
            self.model.setText(tr("Base model: not ready — {message}", message=tr_message(model["message"])))
            self.sample.setEnabled(False)
            return
        note = tr("ready, works offline") if model["converted"] else \
            tr("ready, works offline (prepared once on first use, about 20 s)")
        self.model.setText(tr("Base model: {name} — {note}. It is small: fine for trying the app and learning "
                              "facts from short texts; it cannot write Russian. Choose a bigger local model on the "
                              "Model page for more.", name=model["name"], note=note))

    def open_sample(self) -> None:
        if self.job is not None:
            return
        language = i18n.language()

        def job(report, cancel):
            from core.firstrun import create_sample_project
            return create_sample_project(language=language, report=report, cancel=cancel).root

        self.sample.setEnabled(False)
        self.status.setText(tr("Creating the sample project…"))
        self.job = self.state.jobs.start(job, lambda _event: None, self._opened, self._failed)

    def _opened(self, root) -> None:
        self.job = None
        self.sample.setEnabled(True)
        self.status.setText("")
        self.state.open_project(root)

    def _failed(self, message: str) -> None:
        self.job = None
        self.sample.setEnabled(True)
        self.status.setText(tr("The sample project could not be created: {message}", message=tr_message(message)))
