"""The typed configuration tree. Hydra composes YAML onto these dataclasses, so a misspelt key or a
value of the wrong type fails at start-up instead of halfway through a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional



class TilingKind(Enum):
    grid = "grid"  # geetiles 0.1.7's grid, bit-compatible
    utm = "utm"  # seamless squares per UTM zone
    random = "random"  # the original's recursive "katana" partitions, seeded
    select = "select"  # units (communes, districts) of a vector file that intersect the AOI
    majortom = "majortom"  # cells of ESA's Major TOM global grid
    file = "file"  # an existing tiles file (foreign units only)
    none = "none"  # no tiling (foreign units only: the default)


class Stage(Enum):
    aoi = "aoi"
    tiling = "tiling"
    foreign = "foreign"  # the coarser units (a second tiles file); nothing with foreign=none
    intersect = "intersect"  # foreignid_{name} on every chip; nothing with foreign=none
    download = "download"
    proportions = "proportions"  # {labels}_proportions and _valid_frac per chip; nothing without labels
    split = "split"  # train/val/test columns and {tiles}_splits.csv; nothing with split=none
    export = "export"  # the dataset: GeoTIFF folder + index, WebDataset shards, the original's zip
    report = "report"  # maps, a sample sheet and index.html in {tiles base}_report/


class SourceKind(Enum):
    earthengine = "earthengine"
    demo = "demo"  # synthetic, offline: for trying the pipeline without an account
    local = "local"  # a raster GDAL reads (path or URL), resampled onto each chip


class OnChange(Enum):
    refetch = "refetch"  # chips on disk made by another request (other settings) are fetched again
    refuse = "refuse"  # stop with exit 2, nothing changed: a dataset folder stays as it was made


class WriteOn(Enum):
    worker = "worker"  # workers write chips straight to data_dir (local disk or a shared filesystem)
    driver = "driver"  # workers send GeoTIFF bytes back; the driver writes (no shared filesystem needed)


@dataclass
class AoiConfig:
    """Exactly one of wkt_file, file, bbox, country; ``name`` prefixes every file of the dataset."""

    name: Optional[str] = None
    wkt_file: Optional[str] = None
    file: Optional[str] = None
    layer: Optional[str] = None  # layer of a multi-layer file (GeoPackage); default the first
    bbox: Optional[List[float]] = None  # [minlon, minlat, maxlon, maxlat]
    country: Optional[str] = None  # Natural Earth name, ISO alpha-3 code or continent


@dataclass
class TilingConfig:
    """How to cut the AOI (group ``tiling``), or into which coarser units (group ``foreign``)."""

    kind: TilingKind = TilingKind.grid
    chip_size_m: float = 1000.0  # grid, utm, majortom
    max_chips: int = 20_000_000  # refuse tilings that would not fit in memory
    max_size_m: float = 20000.0  # random: longest side of a piece, metres
    seed: int = 0  # random: the same seed gives the same file, byte for byte
    file: Optional[str] = None  # select: a vector file GDAL reads (any CRS); file: an existing tiles file
    layer: Optional[str] = None  # select: layer of a multi-layer file; default the first
    name: Optional[str] = None  # select: the tiles name in {aoi}_partitions_{name}_{hash}
    min_overlap_km2: float = 1e-3  # select: units overlapping the AOI less than this are dropped
    clip: bool = False  # select: clip units to the AOI (the original never clipped)


class SplitKind(Enum):
    none = "none"  # no split (the default)
    legacy = "legacy"  # geetiles 0.1.7's angled bands, exactly (geet split)
    bands = "bands"  # parallel bands at a true azimuth, in metres, exact fractions
    blocks = "blocks"  # square blocks on a metric grid, assigned at random (balanced) or as a checkerboard
    groups = "groups"  # whole groups of a column (e.g. foreignid_communes)
    random = "random"  # per chip: leaky, for comparison only


class SplitBy(Enum):
    count = "count"
    area = "area"


class BlockAssign(Enum):
    random = "random"
    checkerboard = "checkerboard"


@dataclass
class SplitConfig:
    """How chips are split into train/val/test (group ``split``)."""

    kind: SplitKind = SplitKind.none
    fractions: List[float] = field(default_factory=lambda: [0.7, 0.15, 0.15])  # train, val, test
    by: SplitBy = SplitBy.count  # fractions of the chip count, or of the chips' area
    seed: int = 0
    buffer_m: float = 0.0  # chips within this distance of a chip of another split become "gap"
    group_by: Optional[str] = None  # a column whose groups are never cut (geometric strategies)
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    # legacy (geetiles 0.1.7): fractions are train_pct, test_pct, val_pct of geet split
    nbands: int = 8
    angle: float = 0.0  # radians, in [-pi/2, pi/2], on normalised coordinates (the original's)
    foreign_name: Optional[str] = None  # also split_{name}: the majority split of each foreignid_{name}
    # bands
    azimuth_deg: float = 0.0  # direction the bands run along, degrees clockwise from north
    band_width_m: Optional[float] = None
    bands: Optional[int] = 10  # or a band count (set band_width_m=null)
    # blocks
    block_size_m: float = 10000.0
    assign: BlockAssign = BlockAssign.random
    candidates: int = 16  # random blocks: the best of this many seeded assignments
    # groups
    column: Optional[str] = None  # the column whose values are the groups


class ProportionsEngine(Enum):
    none = "none"  # no proportions
    local = "local"  # from the downloaded label chips, exact partial-pixel coverage
    earthengine = "earthengine"  # Earth Engine reduceRegions with a frequency histogram: nothing downloaded


@dataclass
class ProportionsConfig:
    """Per-chip label proportions (group ``proportions``)."""

    engine: ProportionsEngine = ProportionsEngine.local
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    dataset: Optional[str] = None  # the labels dataset (its chip folder); default: this run's labels
    definition: Optional[str] = None  # chips without a download record (geetiles 0.1.7's): the labels recipe name
    from_foreign: bool = False  # also mix the foreign units' proportions onto the chips ({dataset}_proportions_at_{name})
    foreign_file: Optional[str] = None  # the foreign units' tiles file, with {dataset}_proportions; else this run's
    workers: Optional[int] = None  # local engine: processes; default: one per core, one for small files
    scale_m: Optional[float] = None  # earthengine: pixel size of the histogram; default: the dataset's native scale
    units_per_request: int = 64  # earthengine: features per reduceRegions request


class ExportFormat(Enum):
    geotiff = "geotiff"  # images/ and labels/ as Cloud-Optimised GeoTIFFs, chips.parquet index, card, checksums
    webdataset = "webdataset"  # tar shards per split for streaming (image.npy, label.npy, json)
    legacy_zip = "legacy_zip"  # geetiles 0.1.7's zip of one pickle per chip (geet zip.dataset)


class OnMissing(Enum):
    refuse = "refuse"  # a chip missing or corrupt stops the export (nothing written)
    skip = "skip"  # leave such chips out, list them, and still fail the run's exit status


@dataclass
class ExportConfig:
    """The dataset package (group ``export``)."""

    formats: List[ExportFormat] = field(default_factory=lambda: [ExportFormat.geotiff])
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    images: Optional[str] = None  # the images dataset (its chip folder's name); default: this run's source
    labels: Optional[str] = None  # the labels dataset; default: this run's labels
    dest: Optional[str] = None  # the dataset folder; default: {tiles file without .geojson}_dataset
    name: Optional[str] = None  # the dataset's name (card, shard names); default: {aoi}-{images}
    splits: Optional[str] = None  # the column holding each chip's split; default: split when present, else one "all"
    include_gap: bool = False  # also export the guard gap's chips (split "gap")
    zip: bool = False  # also pack the dataset folder into {dest}.zip (members STORED: GDAL reads them in place)
    shard_size_mb: float = 256.0  # webdataset: target shard size ...
    min_shards: int = 8  # ... but at least this many shards per split when there are enough chips
    seed: int = 0  # webdataset: the order chips are shuffled into
    on_missing: OnMissing = OnMissing.refuse
    license: str = "other"  # the dataset card's license field (e.g. cc-by-4.0)
    workers: Optional[int] = None  # processes; default one per core from 2,000 chips
    foreign_file: Optional[str] = None  # legacy_zip: the foreign units' tiles file, copied without its hash
    readme_file: Optional[str] = None  # legacy_zip: copied as README.txt


@dataclass
class ReportConfig:
    """The report a person opens first (group ``report``)."""

    enabled: bool = True
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    images: Optional[str] = None  # the images dataset for the sample sheet; default: this run's source
    labels: Optional[str] = None  # the labels dataset (class colours, dominant class map); default: this run's labels
    foreign_file: Optional[str] = None  # foreign units to outline; default: this run's
    dest: Optional[str] = None  # default: {tiles file without .geojson}_report
    samples: int = 16  # chips on the sample sheet
    seed: int = 0  # which chips the sample sheet shows
    max_polygons: int = 20000  # above this many chips, maps are drawn aggregated (a raster of chip centres)


@dataclass
class IntersectConfig:
    """When the intersect stage runs alone: the chips' tiles file and the foreign units' tiles file
    (in a run, the tiling and foreign stages' files)."""

    tiles_file: Optional[str] = None
    foreign_file: Optional[str] = None


@dataclass
class EeConfig:
    """How to reach Earth Engine. Only ``url`` is ever contacted (plus the OAuth token endpoint)."""

    url: str = "https://earthengine-highvolume.googleapis.com"
    project: Optional[str] = None  # default: $EE_PROJECT, $GOOGLE_CLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT
    credentials: str = "auto"  # auto | persistent | appdefault | none | path to a JSON key/credentials file
    init_timeout_s: float = 60.0  # give up connecting after this long instead of hanging


class Reducer(Enum):
    median = "median"
    mean = "mean"
    mosaic = "mosaic"
    max = "max"
    min = "min"
    count = "count"
    first = "first"
    quality_mosaic = "quality_mosaic"  # per pixel, all bands of the image with the highest recipe.quality_band


class CloudMask(Enum):
    none = "none"
    qa60 = "qa60"  # Sentinel-2 QA60 bits 10 (clouds) and 11 (cirrus)
    cloudscore_plus = "cloudscore_plus"  # GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED, band cs


class Stacking(Enum):
    none = "none"
    seasonal = "seasonal"  # winter (Dec of the previous year to Feb), spring, summer, fall
    monthly = "monthly"
    yearly = "yearly"  # one slice per entry of recipe.years (whole calendar years)


class OrbitPass(Enum):
    """Sentinel-1 pass direction; fills {orbit} (asc|des) and {orbit_pass} (ASCENDING|DESCENDING)."""

    asc = "asc"
    des = "des"


class TerrainBand(Enum):
    """Bands ee.Terrain derives from an elevation image, added after the reducer."""

    slope = "slope"  # degrees
    aspect = "aspect"  # degrees
    hillshade = "hillshade"


class PixelType(Enum):
    uint8 = "uint8"
    int8 = "int8"
    uint16 = "uint16"
    int16 = "int16"
    uint32 = "uint32"
    int32 = "int32"
    float32 = "float32"
    float64 = "float64"


class FilterOp(Enum):
    lt = "lt"
    lte = "lte"
    gt = "gt"
    gte = "gte"
    eq = "eq"
    neq = "neq"
    listContains = "listContains"  # a list property holds the value (e.g. Sentinel-1 polarisations)


@dataclass
class FilterConfig:
    property: str = "???"
    op: FilterOp = FilterOp.eq
    value: Any = None


@dataclass
class PartConfig:
    """One band group of every slice, from its own filters, bands and reducer (e.g. Sentinel-1 VV
    on ascending passes). A part with one band is named after the part, else ``{part}_{band}``."""

    name: str = "???"
    select: Optional[List[str]] = None  # default: recipe.select
    filters: List[FilterConfig] = field(default_factory=list)  # added to recipe.filters
    reducer: Optional[Reducer] = None  # default: recipe.reducer


@dataclass
class VisualizeConfig:
    min: Optional[float] = None
    max: Optional[float] = None
    palette: Optional[List[str]] = None
    bands: Optional[List[str]] = None


@dataclass
class ClassConfig:
    code: int = 0
    name: str = ""
    color: str = "#000000"


@dataclass
class RecipeConfig:
    """A declarative Earth Engine dataset (see geetiles/sources/ee_recipe.py)."""

    name: str = "???"  # dataset name; may use {year} and {orbit}
    aliases: List[str] = field(default_factory=list)  # other names that find this recipe
    collection: str = "???"  # ImageCollection id (or an Image id with image: true)
    image: bool = False
    year: Optional[int] = None  # fills {year}, {previous_year}, {next_year}; needed for seasonal/monthly stacking
    years: Optional[List[int]] = None  # yearly stacking: one slice per year
    orbit: Optional[OrbitPass] = None  # fills {orbit} and {orbit_pass} in the name and filter values
    start: Optional[str] = None
    end: Optional[str] = None  # exclusive, as Earth Engine's filterDate
    filters: List[FilterConfig] = field(default_factory=list)
    mask: CloudMask = CloudMask.none
    cloud_score_threshold: float = 0.6
    valid_range: Optional[List[float]] = None  # [min, max]: pixels outside are masked before reducing
    select: Optional[List[str]] = None
    rename: Optional[List[str]] = None
    parts: List[PartConfig] = field(default_factory=list)  # band groups with their own filters/reducer
    divide: Optional[float] = None
    scale: float = 1.0
    offset: float = 0.0
    reducer: Reducer = Reducer.median
    quality_band: Optional[str] = None  # for reducer quality_mosaic
    terrain: List[TerrainBand] = field(default_factory=list)  # e.g. [slope] for an elevation model
    stack: Stacking = Stacking.none
    band_template: str = "{period}_{band}"
    visualize: Optional[VisualizeConfig] = None
    remap: Dict[int, int] = field(default_factory=dict)  # class codes to new codes (e.g. WorldCover 10..100 to 1..11)
    proportion_keys: Dict[int, int] = field(default_factory=dict)  # class code -> key of the proportions columns (geetiles 0.1.7's map_values)
    dtype: Optional[PixelType] = None  # values are clamped to the type's range before the cast
    classes: List[ClassConfig] = field(default_factory=list)  # label datasets: code, name, colour
    range_map: Optional[List[float]] = None  # label datasets: thresholds t0<t1<..., class i+1 is [t_i, t_i+1), 0 below t0


@dataclass
class SourceConfig:
    """What to download for every chip; ``dataset`` unset means the download stage has nothing to do."""

    kind: SourceKind = SourceKind.earthengine
    dataset: Optional[str] = None  # built-in dataset name, or a Python file defining get_ee_image()
    name: Optional[str] = None  # folder name of the chips; default: the dataset's own name
    pixels_lonlat: Optional[List[int]] = None  # [width, height] of every chip
    meters_per_pixel: Optional[float] = None  # or a pixel size; exactly one of the two
    nodata: Optional[float] = None  # default: 0 for integer bands, NaN for float bands
    resampling: Optional[str] = None  # local rasters: default nearest for integer bands, bilinear otherwise
    recipe: Optional[RecipeConfig] = None  # Earth Engine: a declarative dataset (instead of a Python file)
    classes: List[ClassConfig] = field(default_factory=list)  # local rasters: label classes (recipes declare their own)
    range_map: Optional[List[float]] = None  # local rasters: value thresholds of range classes, as recipe.range_map


@dataclass
class DownloadConfig:
    tiles_file: Optional[str] = None  # when the download stage runs alone; else the tiling stage's file
    skip_if_exists: bool = True  # skip chips whose file is present and valid (no request sent)
    max_in_flight: int = 40  # ONE cap on concurrent requests across all workers (EE default quota)
    max_requests_per_s: float = 100.0  # ONE cap on request rate across all workers (EE default quota)
    actors: Optional[int] = None  # download workers; default min(4, CPUs of the Ray cluster)
    max_attempts: int = 10  # per request, for retryable errors (429, 5xx, timeouts): 0.3^10 ≈ 6e-6 at 30 % errors
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    request_timeout_s: float = 300.0  # Earth Engine's own limit for interactive requests
    max_request_bytes: int = 50_331_648  # w * h * sum(bytes per band + 1), Earth Engine's limit
    max_pixels_per_side: int = 32768
    max_downloads: Optional[int] = None  # at most this many chips (after skipping existing ones)
    shuffle: bool = False
    seed: int = 0
    groups: Optional[List[str]] = None  # only chips whose `group` column is one of these
    aoi: Optional[str] = None  # only chips intersecting this bundled country/continent
    write_on: WriteOn = WriteOn.worker
    batch_size: int = 64  # chips per message between the driver and a worker
    stall_timeout_s: float = 600.0  # stop (keeping every finished chip) when no chip finishes for this long
    on_change: OnChange = OnChange.refetch  # chips on disk made with other settings: refetch them, or refuse
    progress: str = "auto"  # auto (bar on a terminal, log lines otherwise) | bar | log | none


@dataclass
class RayConfig:
    address: str = ""  # "" starts a local Ray; "auto" or "ray://host:port" joins a cluster
    num_cpus: Optional[int] = None  # local Ray only; default all cores
    start_timeout_s: float = 60.0  # a local Ray not up, or a cluster not answering, by then ends the run


@dataclass
class ExperimentConfig:
    aoi: AoiConfig = field(default_factory=AoiConfig)
    tiling: TilingConfig = field(default_factory=TilingConfig)
    foreign: TilingConfig = field(default_factory=lambda: TilingConfig(kind=TilingKind.none))  # coarser units
    intersect: IntersectConfig = field(default_factory=IntersectConfig)
    proportions: ProportionsConfig = field(default_factory=ProportionsConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    source: SourceConfig = field(default_factory=SourceConfig)  # the images
    labels: SourceConfig = field(default_factory=SourceConfig)  # the labels, on the same chips
    download: DownloadConfig = field(default_factory=DownloadConfig)
    ee: EeConfig = field(default_factory=EeConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    data_dir: str = "outputs/data"  # tiles files and chips; relative to where the command runs
    stages: List[Stage] = field(default_factory=lambda: [Stage.aoi, Stage.tiling, Stage.foreign, Stage.intersect,
                                                         Stage.download, Stage.proportions, Stage.split,
                                                         Stage.export, Stage.report])


def register() -> None:
    """Make the schema available to the defaults list of ``conf/config.yaml``."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="experiment_schema", node=ExperimentConfig)
