"""What a person looks at after a run. The ``report`` stage (``stage.py``) builds maps, a sample sheet and
one ``index.html`` from what a run leaves beside a tiles file (chips, download manifests, the split
report, records)."""
