"""The llama.cpp thread count follows what the cores are doing (CPU accounting, no probing)."""
from __future__ import annotations

import time

import pytest

from core.chat.llamacpp_backend import Threads

pytest.importorskip("psutil")


def test_threads_drop_to_one_on_busy_cores_and_come_back_when_they_idle(monkeypatch):
    monkeypatch.setattr(Threads, "crowded", False)
    threads = Threads(2)
    assert threads.current == 2
    idle = iter(range(0, 1000, 1))  # idle seconds of all cores together, as psutil counts them
    threads._idle = lambda: 0.0
    threads.measure(lambda: time.sleep(0.3))  # wall time passed, almost no CPU: threads were descheduled
    assert threads.current == 1 and Threads.crowded
    assert Threads(2).current == 1  # the next model starts from what was found
    threads._idle = lambda: float(next(idle))  # the other core idles for a whole second per decode
    threads.measure(lambda: time.sleep(0.3))
    assert threads.current == 2 and not Threads.crowded


def test_a_given_thread_count_is_kept(monkeypatch):
    monkeypatch.setattr(Threads, "crowded", True)
    threads = Threads(2, adapt=False)
    threads.measure(lambda: time.sleep(0.3))
    assert threads.current == 2


def test_models_load_without_the_amx_repack_where_the_cpu_has_amx():
    """llama.cpp's AMX repack crashed the process on the first decode (CI, an AMX Xeon)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from core.chat.llamacpp_backend import avoid_amx_repack, quiet_llama_logs

    quiet_llama_logs()
    has_amx = "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode()
    assert avoid_amx_repack() == has_amx
    assert llama_cpp.llama_model_default_params().use_extra_bufts == (not has_amx)
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts == (not has_amx)
