"""Several processes (``accelerate launch``, ``torchrun``): which one is the main process, the shared
accelerate state the trainers use, and commands that refuse to run under several. The main process alone writes
shared files and prints; the trainers shard the batches and average what they log."""

from __future__ import annotations

from typing import Any

from ..params import ModelParams
from ..runs import is_main_process  # noqa: F401 -- re-exported: the callers' one place for process roles


class SeveralProcessesError(RuntimeError):
    """A command that runs in one process only was started under several (accelerate launch, torchrun)."""


def launched_processes() -> int:
    """How many processes the launcher started (1 without accelerate launch / torchrun / mpirun)."""
    from accelerate.utils import get_int_from_env

    return get_int_from_env(["WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"], 1)


def refuse_several_processes(command: str) -> None:
    """Raise :class:`SeveralProcessesError` naming the fix when ``command`` was started under several processes."""
    count = launched_processes()
    if count > 1:
        raise SeveralProcessesError(
            f"{command} runs in one process, but {count} were launched: run `tracer1kit {command} PARAMS "
            f"--run-dir RUN` without accelerate launch / torchrun (only `tracer1kit train` uses several processes)")


def use_cpu(model: ModelParams) -> bool:
    """Whether the trainers run on the CPU: the ``model``'s device says so, or there is no GPU."""
    import torch

    return model.device == "cpu" or not torch.cuda.is_available()


def process_state(model: ModelParams) -> Any:
    """accelerate's ``PartialState`` set up as the trainers set it up (gloo on CPU, NCCL on GPUs, the trainers'
    30-minute ``ddp_timeout``: the other processes wait that long for the main one's expert data), so barriers
    before the first trainer join the same processes."""
    from datetime import timedelta

    from accelerate import PartialState

    return PartialState(cpu=use_cpu(model), timeout=timedelta(seconds=1800))


def quiet_replicas() -> None:
    """In every process but the main one, switch off progress bars and warnings (the main process shows them)."""
    if is_main_process():
        return
    import warnings

    import datasets
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    datasets.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
