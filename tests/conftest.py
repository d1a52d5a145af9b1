"""Test-wide settings: never touch a hub; keep the kit's model cache inside the checkout."""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRACER1KIT_CACHE", str(Path(__file__).resolve().parents[1] / ".cache" / "tracer1kit"))

# Property tests judge behaviour, not speed: these 2-core machines are shared and noisy, so no per-example deadline.
from hypothesis import settings  # noqa: E402

settings.register_profile("kit", deadline=None)
settings.load_profile("kit")
