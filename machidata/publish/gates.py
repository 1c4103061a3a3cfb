"""Publication gates (公開前の確認): what must hold before versions go public.

Each gate yields one result per dataset or per table version: ``gate`` (key), ``table`` (table name or
""), ``label``, ``passed``, ``detail`` (Japanese), ``overridable``. Gates:

* ``classification`` — the dataset would become 公開, so its personal-data class must be なし or
  匿名加工 (not overridable: the database refuses 公開 with personal data);
* ``screen`` — no column flagged by the ingestion's personal-data screen (``reports["screen"]``);
* ``licence`` — an open licence from the catalog's list and an attribution text (not overridable);
* ``readability`` — no blocking problem in the machine-readability report (rules in
  :data:`BLOCKING_RULES`);
* ``small_counts`` — for tables declared as 統計表, no published cell with 1 ≤ value < threshold;
* ``anonymisation`` — for a 匿名加工情報 dataset, each version was made by the 匿名加工 pipeline
  (``machidata.deid``) with every criterion of 施行規則第62条 recorded as met (not overridable). A
  仮名加工情報 dataset never passes: the ``classification`` gate refuses it (法第73条).

:func:`fingerprint` hashes everything the gates read, so an approval can refuse versions (or settings)
that changed after the check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from machidata.access.models import PersonalData
from machidata.access.policy import contract_refusal
from machidata.catalog.models import Dataset, Licence, TableVersion, VersionStatus
from machidata.core.errors import InvalidInput
from machidata.publish import suppression

# Machine-readability rules whose failure blocks publication: not a machine-readable format, several
# tables in one sheet, columns without a name, and column names that do not identify a column.
BLOCKING_RULES: Final = ("L1-01", "L1-02", "L1-05", "L2-03")
NOT_OVERRIDABLE: Final = frozenset({"classification", "licence", "anonymisation", "contract"})
GATE_LABELS: Final = {
    "classification": "公開区分と個人情報の区分",
    "screen": "個人情報と思われる列",
    "licence": "ライセンスと出典の表記",
    "readability": "機械判読性",
    "small_counts": "小さい数（秘匿）",
    "anonymisation": "匿名加工の記録（施行規則第62条）",
    "contract": "契約条件（有償データ・委託成果物）",
}
OPEN_PERSONAL: Final = frozenset({PersonalData.NONE, PersonalData.ANONYMISED})
MAX_GATE_ROWS: Final = 200_000


@dataclass
class GateResult:
    """One gate's verdict on the dataset (table="") or on one table's version."""

    gate: str
    table: str
    passed: bool
    detail: str
    label: str = ""
    overridable: bool = True

    def __post_init__(self) -> None:
        """Fill the label and whether it may be overridden from the gate key."""
        self.label = self.label or GATE_LABELS[self.gate]
        self.overridable = self.gate not in NOT_OVERRIDABLE

    def as_dict(self) -> dict[str, Any]:
        """JSON form kept on the request."""
        return asdict(self)


def read_version(version: TableVersion) -> pa.Table:
    """A committed version's rows (small tables only: gates and suppression read 統計表)."""
    from machidata.lake.readers import files_for

    if version.status != VersionStatus.COMMITTED:
        raise InvalidInput(f"{version} は確定していない版です。")
    if (version.rows or 0) > MAX_GATE_ROWS:
        raise InvalidInput(f"{version} は {MAX_GATE_ROWS:,} 行を超えるため統計表として確認できません。")
    files = files_for(version)
    if not files:
        return pa.table({})
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def dataset_threshold(dataset_id: int) -> int:
    """The dataset's small-count threshold (小さい数の基準): its setting, else 10."""
    from machidata.publish.models import DEFAULT_THRESHOLD, SmallCountSetting

    value = (
        SmallCountSetting.objects.filter(dataset_id=dataset_id).values_list("threshold", flat=True).first()
    )
    return int(value) if value is not None else DEFAULT_THRESHOLD


def spec_of(version: TableVersion) -> suppression.Spec | None:
    """The 統計表 declaration of the version's table, if any, with the threshold in force: the
    dataset's, or the table's own when that is stricter (a table never loosens its dataset's)."""
    from machidata.publish.models import AggregateSpec

    s = AggregateSpec.objects.filter(table_id=version.table_id).select_related("table").first()
    if s is None:
        return None
    threshold = max(dataset_threshold(s.table.dataset_id), s.threshold or 0)
    return suppression.Spec(
        dimension=s.dimension, count_columns=tuple(s.count_columns), total_column=s.total_column,
        total_row_label=s.total_row_label, threshold=threshold, protection=s.protection,
        column_dimension=s.column_dimension, value_column=s.value_column,
        row_subtotals=suppression.subtotals(s.row_subtotals),
        column_subtotals=suppression.subtotals(s.column_subtotals),
    )  # fmt: skip


def _screen(version: TableVersion) -> GateResult:
    flags = ((version.reports or {}).get("screen") or {}).get("flags") or []
    cols = list(dict.fromkeys(str(f.get("column")) for f in flags))
    if not cols:
        return GateResult(
            "screen", version.table.name, True, "取り込み時の確認で個人情報と思われる列はありません。"
        )
    return GateResult(
        "screen", version.table.name, False,
        f"取り込み時の確認で個人情報と思われる列があります: {'、'.join(cols)}。列を削除した版を作るか、誤検知なら理由を記録して例外承認してください。",
    )  # fmt: skip


def _readability(version: TableVersion) -> GateResult:
    report = (version.reports or {}).get("readability") or {}
    failed = [r for r in report.get("failed_rules") or [] if r in BLOCKING_RULES]
    if not failed:
        return GateResult(
            "readability", version.table.name, True, "機械判読性に公開を妨げる問題はありません。"
        )
    return GateResult(
        "readability", version.table.name, False,
        f"機械判読性の重大な問題があります（{'、'.join(failed)}）。元のファイルを直して取り込み直してください。",
    )  # fmt: skip


def _small_counts(version: TableVersion) -> GateResult | None:
    spec = spec_of(version)
    if spec is None:
        return None
    try:
        grid = suppression.grid_from_table(read_version(version), spec)
    except InvalidInput as exc:
        return GateResult(
            "small_counts", version.table.name, False, f"統計表として確認できません: {exc.message}"
        )
    small = suppression.small_cells(grid, spec.threshold)
    if not small:
        return GateResult(
            "small_counts", version.table.name, True, f"{spec.threshold} 未満のセルは公開されません。"
        )
    shown = "、".join(f"{r}／{c}" for r, c, _ in small[:5])
    more = f" ほか {len(small) - 5} セル" if len(small) > 5 else ""
    return GateResult(
        "small_counts", version.table.name, False,
        f"{spec.threshold} 未満のセルが {len(small)} 個あります（{shown}{more}）。秘匿処理をしてください。",
    )  # fmt: skip


def _anonymisation(version: TableVersion) -> GateResult:
    """A 匿名加工 version passes only with a complete 第62条 record from the 匿名加工 pipeline."""
    from machidata.deid.models import DeidRun, Kind, RunStatus

    name = version.table.name
    run = (
        DeidRun.objects.filter(version=version, status=RunStatus.DONE, plan__kind=Kind.ANONYMISED)
        .order_by("-id")
        .first()
    )
    if run is None:
        return GateResult(
            "anonymisation", name, False,
            "この版は匿名加工の手順（施行規則第62条の各基準の確認）を経ていません。"
            "「仮名加工・匿名加工」の画面から匿名加工して取り込んだ版だけを公開できます。",
        )  # fmt: skip
    missing = [c["label"] for c in run.checks if not c.get("passed")]
    keys = {c.get("key") for c in run.checks}
    absent = [k for k in ("art62_1", "art62_2", "art62_3", "art62_4", "art62_5") if k not in keys]
    if missing or absent:
        return GateResult(
            "anonymisation", name, False,
            f"施行規則第62条の記録が揃っていません（{'、'.join(missing + absent)}）。",
        )  # fmt: skip
    return GateResult(
        "anonymisation", name, True,
        f"施行規則第62条の各号の確認を満たしています（k = {run.k_found}、基準日 {run.as_of:%Y-%m-%d}）。",
    )  # fmt: skip


def _classification(dataset: Dataset) -> GateResult:
    if dataset.personal_data in OPEN_PERSONAL:
        return GateResult(
            "classification", "", True, f"個人情報の区分は「{dataset.get_personal_data_display()}」です。"
        )
    return GateResult(
        "classification", "", False,
        f"個人情報の区分が「{dataset.get_personal_data_display()}」のため公開できません（なし・匿名加工情報のみ公開できます）。",
    )  # fmt: skip


def _licence(licence: Licence | None, attribution: str) -> GateResult:
    if licence is None:
        return GateResult("licence", "", False, "ライセンスを選んでください。")
    if not licence.is_open:
        return GateResult("licence", "", False, f"「{licence.name}」はオープンライセンスではありません。")
    if not attribution.strip():
        return GateResult("licence", "", False, "出典の表記（例: 熊本市オープンデータ）を入力してください。")
    return GateResult("licence", "", True, f"{licence.name}／出典: {attribution}")


def run_gates(
    dataset: Dataset,
    versions: list[TableVersion],
    *,
    licence: Licence | None,
    attribution: str,
    check_licence: bool = True,
) -> list[GateResult]:
    """Every gate on the dataset and the exact versions."""
    results = [_classification(dataset)]
    refusal = contract_refusal(None, dataset, use="publish")  # only datasets with contract terms
    if refusal:
        results.append(GateResult("contract", "", False, refusal))
    if check_licence:
        results.append(_licence(licence, attribution))
    for v in versions:
        if dataset.personal_data == PersonalData.ANONYMISED:
            results.append(_anonymisation(v))
        results.append(_screen(v))
        results.append(_readability(v))
        small = _small_counts(v)
        if small is not None:
            results.append(small)
    return results


def fingerprint(
    dataset: Dataset, versions: list[TableVersion], *, licence: Licence | None, attribution: str
) -> str:
    """SHA-256 of everything the gates read: change any of it and an approval is refused until re-checked."""
    specs = {}
    for v in versions:
        s = spec_of(v)
        specs[str(v.table_id)] = asdict(s) if s is not None else None
    payload = {
        "personal_data": dataset.personal_data,
        "licence": licence.pk if licence is not None else None,
        "attribution": attribution,
        "versions": [
            {"id": v.pk, "status": v.status, "delta": v.delta_version, "rows": v.rows, "schema": v.schema,
             "reports": {k: (v.reports or {}).get(k) for k in ("screen", "readability", "validation")}}
            for v in sorted(versions, key=lambda v: v.pk)
        ],
        "specs": specs,
    }  # fmt: skip
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
