"""The ``machidata`` command.

Each sub-command is a Django management command owned by the room it belongs to (``serve`` in
jobs, ``demo`` in demo, ``import-inventory`` in catalog, …); this module only maps the hyphenated
names users type onto them, so ``--help`` is Django's own; errors are printed as one Japanese line
(「エラー: …」, exit status 1) instead of Django's English "CommandError: …".
"""

from __future__ import annotations

import os
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "デモ用の内容を読み込んで起動します（--load-only で読み込みのみ）"),
    "serve": ("serve", "本番用サーバーと処理ランナーを起動します"),
    "migrate": ("migrate", "データベースを最新の構造にします"),
    "createuser": ("createuser", "職員アカウントを作成します（所属・役割・APIトークン）"),
    "import-inventory": ("import_inventory", "データ棚卸表（Excel/CSV）をカタログに取り込みます"),
    "import-organisation": ("import_organisation", "組織・職員名簿を取り込み、組織改正を適用します"),
    "ingest": ("ingest", "ファイルを表に取り込み、新しい版を作ります"),
    "check": ("deploycheck", "本番運用の設定を点検します"),
    "worker": ("worker", "処理ランナーだけを起動します"),
    "verify-audit": ("verify_audit", "監査ログの改ざん検知（ハッシュ連鎖）を確認します"),
    "purge-orphans": ("purge_orphans", "どの版からも参照されていないデータファイルを削除し記録します"),
    "purge": ("purge", "保存期間を過ぎた個人情報の版を消去します（--dry-run で確認、--apply で消去）"),
    "reindex": ("reindex", "カタログの検索索引を作り直します"),
    "backup": ("backup", "バックアップを作成します（データベース・レイク・添付ファイル・鍵）"),
    "restore": ("restore", "バックアップを空の環境に復元し、版を検証します"),
    "backup-key": ("backup_key", "暗号化バックアップ用の鍵を作ります"),
    "backup-prune": ("backup_prune", "消去した版をバックアップファイルからも取り除きます（消去記録に従う）"),
    "publish-keygen": ("publish_keygen", "公開バンドルに署名する鍵の組を作ります"),
    "publish-export": ("publish_export", "公開内容の変更を署名付きの公開バンドルに書き出します（庁内側）"),
    "publish-import": ("publish_import", "公開バンドルを確かめて取り込みます（公開側）"),
}


def _usage() -> str:
    lines = ["使い方: machidata <コマンド> [オプション]", "", "コマンド:"]
    width = max(len(name) for name in COMMANDS)
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    lines += ["", "各コマンドの詳細: machidata <コマンド> --help"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``machidata`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())  # noqa: T201 - CLI output
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"エラー: '{name}' というコマンドはありません。\n\n{_usage()}", file=sys.stderr)  # noqa: T201
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machidata.config.settings")
    try:
        import django

        django.setup()
    except Exception as exc:  # noqa: BLE001 - configuration errors get one clear line, not a traceback
        print(f"エラー: 設定を読み込めません: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return _run(COMMANDS[name][0], rest)


def _run(command: str, rest: list[str]) -> int:
    """Run one management command; its errors become one Japanese line and exit status 1."""
    from django.core.management import execute_from_command_line
    from django.core.management.base import CommandError, SystemCheckError

    from machidata.core.errors import MachidataError

    wants_traceback = "--traceback" in rest
    # With --traceback Django re-raises a CommandError instead of printing "CommandError: …" in
    # English; we print one Japanese line instead (unless the user asked for the traceback).
    argv = ["machidata", command, *rest] + ([] if wants_traceback else ["--traceback"])
    try:
        execute_from_command_line(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except (CommandError, MachidataError) as exc:
        if wants_traceback:
            raise
        if isinstance(exc, SystemCheckError):  # already a formatted list of findings
            print(str(exc), file=sys.stderr)  # noqa: T201 - CLI output
            return exc.returncode or 1
        message = exc.message if isinstance(exc, MachidataError) else str(exc)
        # A progress bar may own the current line of the terminal: clear it first.
        prefix = "\r\x1b[2K" if sys.stderr.isatty() else ""
        print(f"{prefix}エラー: {message}", file=sys.stderr)  # noqa: T201 - CLI output
        return getattr(exc, "returncode", 1) or 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
