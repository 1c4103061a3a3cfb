"""The query engine: TableQuery → Ibis → DuckDB over Parquet file lists, with limits, profiles, staging and exports.

This package is a leaf (design guide §4): it knows file lists, schemas and queries, never users or
models, and it is the only package that imports ``ibis`` or ``duckdb``. By the time a file path
reaches it, access has been decided.
"""

from machidata.engine.compile import compile_sql, nfkc_lower
from machidata.engine.errors import EngineError, EngineQueryError, EngineTimeout
from machidata.engine.exports import ExportResult, export, json_value, table_arrow_stream, table_csv
from machidata.engine.expressions import Expression, parse_expression
from machidata.engine.profile import ColumnProfile, HistogramBin, profile_columns
from machidata.engine.query import (
    TOTALS_NAME,
    Filter,
    GroupBy,
    Measure,
    Sort,
    TableQuery,
    TopN,
    Totals,
    ValidatedQuery,
)
from machidata.engine.recipes import (
    Recipe,
    RecipePreview,
    RecipeStepError,
    RecipeStream,
    StepReport,
    preview_recipe,
    stream_recipe,
)
from machidata.engine.run import QueryResult, prepare_query, run_query
from machidata.engine.staging import StagedParquet, stage_csv_to_parquet
from machidata.engine.types import Kind, kind_of

__all__ = [
    "TOTALS_NAME",
    "ColumnProfile",
    "EngineError",
    "EngineQueryError",
    "EngineTimeout",
    "ExportResult",
    "Expression",
    "Filter",
    "GroupBy",
    "HistogramBin",
    "Kind",
    "Measure",
    "QueryResult",
    "Recipe",
    "RecipePreview",
    "RecipeStepError",
    "RecipeStream",
    "Sort",
    "StagedParquet",
    "StepReport",
    "TableQuery",
    "TopN",
    "Totals",
    "ValidatedQuery",
    "compile_sql",
    "export",
    "json_value",
    "kind_of",
    "nfkc_lower",
    "parse_expression",
    "prepare_query",
    "preview_recipe",
    "profile_columns",
    "run_query",
    "stage_csv_to_parquet",
    "stream_recipe",
    "table_arrow_stream",
    "table_csv",
]
