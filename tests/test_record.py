from geetiles.record import REDACTED, record_path, redact


def test_secrets_are_redacted_at_any_depth():
    config = {"ee": {"credentials": "/home/me/key.json", "project": "p", "token": "abc"},
              "sources": [{"api_key": "k", "url": "u"}], "aoi": {"name": "lux"}}
    clean = redact(config)
    assert clean["ee"] == {"credentials": REDACTED, "project": "p", "token": REDACTED}
    assert clean["sources"] == [{"api_key": REDACTED, "url": "u"}]
    assert clean["aoi"] == {"name": "lux"}


def test_credentials_mode_words_are_not_secrets():
    assert redact({"credentials": "auto"}) == {"credentials": "auto"}


def test_record_sits_beside_its_output(tmp_path):
    assert record_path(tmp_path / "lux_partitions_aschips_abc.geojson").name == "lux_partitions_aschips_abc.geetiles.yaml"
