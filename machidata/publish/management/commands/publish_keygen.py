"""``machidata publish-keygen``: the Ed25519 key pair that signs publication bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.core.errors import InvalidInput
from machidata.publish.bundle import keygen, signing_key_path, verify_key_path


class Command(BaseCommand):
    """Make the key pair; the private key stays on the internal side, the public key goes to the portal."""

    help = "公開バンドルに署名する鍵の組を作ります（秘密鍵は庁内側に、公開鍵は公開側に置きます）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--private", help="秘密鍵の保存先（省略時は設定 MACHIDATA_PUBLISH_SIGNING_KEY）")
        parser.add_argument("--public", help="公開鍵の保存先（省略時は設定 MACHIDATA_PUBLISH_VERIFY_KEY）")
        parser.add_argument("--force", action="store_true", help="既存の鍵を作り直します")

    def handle(self, *args: Any, **options: Any) -> None:
        private = Path(options["private"]) if options.get("private") else signing_key_path()
        public = Path(options["public"]) if options.get("public") else verify_key_path()
        try:
            kid = keygen(private=private, public=public, force=bool(options.get("force")))
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"鍵を作りました（鍵の指紋: {kid}）。")
        self.stdout.write(f"  秘密鍵（庁内側に置いたまま、持ち出さない）: {private}")
        self.stdout.write(f"  公開鍵（公開側の MACHIDATA_PUBLISH_VERIFY_KEY に置く）: {public}")
