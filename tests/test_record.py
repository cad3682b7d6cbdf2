import pytest

from geetiles.errors import UserInputError
from geetiles.record import DOWNLOAD_RECORD, REDACTED, read_download_record, record_path, redact, write_record


def test_secrets_are_redacted_at_any_depth():
    config = {
        "ee": {"credentials": "/home/me/key.json", "project": "p", "token": "abc"},
        "sources": [{"api_key": "k", "url": "u"}],
        "aoi": {"name": "lux"},
    }
    clean = redact(config)
    assert clean["ee"] == {"credentials": REDACTED, "project": "p", "token": REDACTED}
    assert clean["sources"] == [{"api_key": REDACTED, "url": "u"}]
    assert clean["aoi"] == {"name": "lux"}


def test_credentials_mode_words_are_not_secrets():
    assert redact({"credentials": "auto"}) == {"credentials": "auto"}


def test_record_sits_beside_its_output(tmp_path):
    assert (
        record_path(tmp_path / "lux_partitions_aschips_abc.geojson").name == "lux_partitions_aschips_abc.geetiles.yaml"
    )


def test_the_download_record_is_the_record_of_the_manifest(tmp_path):
    """What the download writes beside ``manifest.csv`` is what export, report and proportions read."""
    from types import SimpleNamespace

    from geetiles.manifest import MANIFEST

    experiment = SimpleNamespace(command="geet download", resolved={"labels": {"name": "worldcover"}})
    written = write_record(tmp_path / MANIFEST, experiment, stage="download", extra={"classes": [{"code": 10}]})
    assert written.name == DOWNLOAD_RECORD
    record = read_download_record(tmp_path)
    assert record["stage"] == "download" and record["classes"] == [{"code": 10}]


def test_a_folder_without_download_record_reads_as_none(tmp_path):
    assert read_download_record(tmp_path) is None


def test_a_damaged_download_record_is_one_line(tmp_path):
    (tmp_path / DOWNLOAD_RECORD).write_text("classes: [unclosed\n")
    with pytest.raises(UserInputError, match="cannot read the download record .* rerun the download"):
        read_download_record(tmp_path)


def test_yaml_text_is_safe_dumps_text_and_reads_back_the_same():
    import math

    import yaml

    from geetiles.record import yaml_text

    record = {
        "geetiles_version": "1.0",
        "command": "python -m geetiles experiment=demo 'aoi.bbox=[6.0,49.6,6.06,49.64]' data_dir=/tmp/dir with spaces"
        + " tiling.chip_size_m=2000" * 4,
        "working_dir": "/tmp/Zürich/データ",
        "numbers": [1, 2.5, -0.0, 1e-12, None, True],
        "config": {"aoi": {"name": "lux", "bbox": [5.7, 49.4, 6.5, 50.2]}, "empty": {}, "text": "a: b\n- c"},
        "yes": "yes",
        "nan": float("nan"),
    }
    text = yaml_text(record)
    assert text == yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    back = yaml.safe_load(text)
    assert math.isnan(back.pop("nan")) and back == {k: v for k, v in record.items() if k != "nan"}
    assert "データ" in text  # unicode kept as text, not escaped
