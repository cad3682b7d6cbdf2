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
