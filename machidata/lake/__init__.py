"""The versioned data store: each table (表) is a Delta table under MACHIDATA_HOME/lake/.

This package is the only code that imports ``deltalake``. Writers go through
``machidata.lake.protocol.write_version`` (lease → pending row → Delta commit → committed row),
readers through ``machidata.lake.readers`` (a version's Parquet file list, schema and history).
"""
