"""Inventory import (庁内データの棚卸): read a department's Excel/CSV inventory, map its columns, upsert entries."""

from machidata.catalog.inventory.importing import (
    ImportOptions,
    ImportReport,
    RowError,
    RowResult,
    inventory_import,
    inventory_template_for,
    inventory_template_get,
    inventory_template_save,
    report_csv,
)
from machidata.catalog.inventory.mapping import TARGETS, check_mapping, suggest_mapping
from machidata.catalog.inventory.reading import Sheet, check_file, file_sha256, read_sheet, sheet_names

__all__ = [
    "TARGETS",
    "ImportOptions",
    "ImportReport",
    "RowError",
    "RowResult",
    "Sheet",
    "check_file",
    "check_mapping",
    "file_sha256",
    "inventory_import",
    "inventory_template_for",
    "inventory_template_get",
    "inventory_template_save",
    "read_sheet",
    "report_csv",
    "sheet_names",
    "suggest_mapping",
]
