"""The image assets the fake knows, with their bands and dtypes, and how `Image.load` finds them.

One table, so a test needing a new dataset adds one line here; `FAKE/USER_MEMORY`
loads as the service's "User memory limit exceeded." error.
"""

from __future__ import annotations

from typing import Any

from .values import F32, F64, I16, U8, U16, Band, ExpressionError

_S2_BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "QA60"]

CATALOG: dict[str, tuple[Band, ...]] = {
    "COPERNICUS/S2_SR_HARMONIZED": tuple((b, U16) for b in _S2_BANDS),
    "ESA/WorldCover/v100": (("Map", U8),),
    "ESA/WorldCover/v200": (("Map", U8),),
    "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED": (("cs", F32), ("cs_cdf", F32)),
    "COPERNICUS/S1_GRD": (("HH", F64), ("HV", F64), ("VV", F64), ("VH", F64), ("angle", F32)),
    "MODIS/006/MOD44B": tuple(
        (b, U8)
        for b in ("Percent_Tree_Cover", "Percent_NonTree_Vegetation", "Percent_NonVegetated", "Quality", "Cloud")
    ),
    "MODIS/061/MOD44B": tuple(
        (b, U8)
        for b in ("Percent_Tree_Cover", "Percent_NonTree_Vegetation", "Percent_NonVegetated", "Quality", "Cloud")
    ),
    "CGIAR/SRTM90_V4": (("elevation", I16),),
    "CSP/ERGo/1_0/US/landforms": (("constant", U8),),
    "ESA/CCI/FireCCI/5_1": (("BurnDate", I16), ("ConfidenceLevel", U8), ("LandCover", U8), ("ObservedFlag", I16)),
    "AAFC/ACI": (("landcover", U8),),
    "JRC/GHSL/P2016/POP_GPW_GLOBE_V1": (("population_count", F64),),
    "FAKE/RGB": (("red", U8), ("green", U8), ("blue", U8)),
    "FAKE/FLOAT": (("value", F32),),
}

USER_MEMORY_ASSET = "FAKE/USER_MEMORY"
USER_MEMORY_MESSAGE = "User memory limit exceeded."


def load(asset_id: Any) -> tuple[Band, ...]:
    if asset_id == USER_MEMORY_ASSET:
        raise ExpressionError(USER_MEMORY_MESSAGE)
    if asset_id not in CATALOG:
        raise ExpressionError(
            f"Image.load: Image asset '{asset_id}' not found (does not exist or caller does not have access)."
        )
    return CATALOG[asset_id]
