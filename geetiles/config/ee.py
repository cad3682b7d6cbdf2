"""The ``ee`` keys: how to reach Earth Engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class EeConfig:
    """How to reach Earth Engine. Only ``url`` is ever contacted (plus the OAuth token endpoint)."""

    url: str = "https://earthengine-highvolume.googleapis.com"
    project: Optional[str] = None  # default: $EE_PROJECT, $GOOGLE_CLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT
    credentials: str = "auto"  # auto | persistent | appdefault | none | path to a JSON key/credentials file
    init_timeout_s: float = 60.0  # give up connecting after this long instead of hanging
