"""The submission pipeline (归集): a file or rows imported into records in chunks
(``ingest``), queued upload jobs and their runner (``jobs``). What a merged batch implies is
applied by :func:`xinyong.changes.effects.apply_batch_consequences`."""
