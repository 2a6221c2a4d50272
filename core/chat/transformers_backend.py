"""Chat through transformers + PEFT: streaming replies, the adapter switchable on and off.

The prompt is rendered with the chat template stored with the run (the one used in training),
so the tuned model sees exactly the format it learned. Base vs tuned uses the same weights in
memory: the LoRA layers are simply disabled for the base answer.
"""
from __future__ import annotations

import json
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Iterator

from core.config import ChatConfig
from core.events import CancelToken
from core.models import ResolvedModel, load_model, load_tokenizer, pick_device, resolve
from core.project import Project


class TransformersChat:
    """One loaded model (with or without an adapter) that answers chat messages as a stream."""

    def __init__(self, resolved: ResolvedModel, adapter_dir: Path | None = None, run_info: dict | None = None,
                 device: str = "auto") -> None:
        from peft import PeftModel

        self.device = pick_device(device)
        self.tokenizer = load_tokenizer(resolved)
        run_info = run_info or {}
        if run_info.get("chat_template"):
            self.tokenizer.chat_template = run_info["chat_template"]
        self.default_system = run_info.get("system_prompt", "")
        self.stop_tokens = run_info.get("stop_tokens") or [self.tokenizer.eos_token]
        model = load_model(resolved, self.device)
        self.has_adapter = adapter_dir is not None
        self.model = PeftModel.from_pretrained(model, str(adapter_dir)) if adapter_dir else model
        self.model.eval()
        self._lock = threading.Lock()  # one generation at a time: adapter on/off is model state

    @classmethod
    def from_run(cls, project: Project, run: str | None = None, device: str = "auto") -> "TransformersChat":
        run_dir = project.run_dir(run)
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        resolved = resolve(info["model"]["source"])
        adapter = run_dir / "adapter"  # (a lab run trained from scratch is a whole model, with no adapter)
        return cls(resolved, adapter if (adapter / "adapter_config.json").exists() else None, info, device)

    def messages(self, prompt: str, config: ChatConfig, history: list[dict] | None = None) -> list[dict]:
        system = config.system_prompt or self.default_system
        head = [{"role": "system", "content": system}] if system else []
        return head + list(history or []) + [{"role": "user", "content": prompt}]

    def stream(self, messages: list[dict], config: ChatConfig | None = None, adapter: bool = True,
               cancel: CancelToken | None = None) -> Iterator[str]:
        """Yield reply text pieces as they are generated; stops early when ``cancel`` is set."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        config = config or ChatConfig()
        cancel = cancel or CancelToken()
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)

        abandoned = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return cancel.cancelled or abandoned.is_set()

        stop_ids = [i for i in self.tokenizer.convert_tokens_to_ids(self.stop_tokens) if i is not None]
        kwargs = dict(**inputs, max_new_tokens=config.max_new_tokens, streamer=streamer,
                      stopping_criteria=StoppingCriteriaList([_Stop()]), eos_token_id=stop_ids or None,
                      pad_token_id=self.tokenizer.pad_token_id, repetition_penalty=config.repetition_penalty,
                      do_sample=config.temperature > 0)
        if config.temperature > 0:
            kwargs.update(temperature=config.temperature, top_p=config.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        use_base = self.has_adapter and not adapter
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.no_grad():
                    self.model.generate(**kwargs)
            except BaseException as exc:  # surfaced in the caller's thread below
                errors.append(exc)
                streamer.end()

        with self._lock, (self.model.disable_adapter() if use_base else nullcontext()):
            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                abandoned.set()  # consumer stopped early (or we are done): generate stops at its next token
                worker.join()
        if errors:
            raise errors[0]

    def reply(self, prompt: str, config: ChatConfig | None = None, adapter: bool = True) -> str:
        config = config or ChatConfig()
        return "".join(self.stream(self.messages(prompt, config), config, adapter)).strip()
