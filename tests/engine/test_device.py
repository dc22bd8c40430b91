"""The device and precision policy: the CPU path stays plain float32, CUDA choices follow the capability."""
from __future__ import annotations

import pytest
import torch

from helpers.engine import device as dev


def test_precision_cpu_path_is_plain_and_cuda_choice_follows_capability():
    cpu = dev.choose_precision("cpu", training=True)
    assert cpu.autocast_dtype is None and not cpu.needs_grad_scaler
    assert dev.choose_precision("cpu").autocast_dtype in (None, torch.bfloat16)
    assert (dev.choose_precision("cpu").autocast_dtype is torch.bfloat16) == dev.cpu_supports_fast_bf16()
    old = dev.choose_precision("cuda", cuda_bf16=False)  # e.g. a T4: no bfloat16
    assert old.autocast_dtype is torch.float16 and old.needs_grad_scaler and old.channels_last
    new = dev.choose_precision("cuda", cuda_bf16=True)
    assert new.autocast_dtype is torch.bfloat16 and not new.needs_grad_scaler
    assert dev.loader_options("cpu", 2, reused=True) == {"num_workers": 2, "pin_memory": False,
                                                         "persistent_workers": False}
    assert dev.loader_options("cuda", 2, reused=True)["persistent_workers"] is True
    assert dev.loader_options("cuda", 0, reused=True)["persistent_workers"] is False


def test_denormals_are_flushed_in_threads_started_after_the_engine_is_imported():
    import threading

    from helpers.engine import device

    if not device.FLUSHES_DENORMALS:  # the mode is set when the engine is imported, where the CPU has it (x86)
        pytest.skip("this CPU has no flush-to-zero mode")
    seen = []
    worker = threading.Thread(target=lambda: seen.append(float(torch.tensor([1e-39]) * 1.0)))
    worker.start()
    worker.join()
    assert seen == [0.0]  # a thread started now takes the flushing mode of the thread that started it
