"""``machidata createuser USERNAME --unit CODE --role 閲覧|編集|管理 [--name] [--email] [--password|--random-password] [--token NAME]``."""

from __future__ import annotations

import getpass
import secrets
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from machidata.access.models import Unit
from machidata.access.orgimport.plan import ROLE_WORDS
from machidata.access.policy import actor_for
from machidata.access.services import actor_from_username, system_actor, token_create, user_create
from machidata.core.errors import MachidataError


class Command(BaseCommand):
    help = "職員アカウントを作成し、所属と役割を設定します（--token でAPIトークンも発行）。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="ユーザー名（職員ID）")
        parser.add_argument("--unit", required=True, help="所属コード（現在有効な所属）")
        parser.add_argument("--role", required=True, help="役割: 閲覧・編集・管理")
        parser.add_argument("--name", default="", help="氏名")
        parser.add_argument("--email", default="", help="メールアドレス")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--password", help="パスワード（省略すると入力を求めます）")
        secret.add_argument(
            "--random-password", action="store_true", help="ランダムなパスワードを設定して表示します"
        )
        secret.add_argument(
            "--no-password",
            action="store_true",
            help="パスワードでのログインを不可にします（APIトークンのみ）",
        )
        parser.add_argument(
            "--token", metavar="NAME", help="この名前でAPIトークンを発行し、一度だけ表示します"
        )
        parser.add_argument(
            "--staff", action="store_true", help="管理画面（/admin/）に入れるようにします（管理の役割が必要）"
        )
        parser.add_argument("--as", dest="as_user", help="実行者として監査ログに記録するユーザー名")

    def _password(self, options: dict[str, Any]) -> str | None:
        if options["no_password"]:
            return None
        if options["random_password"]:
            return secrets.token_urlsafe(15)
        if options.get("password"):
            return str(options["password"])
        if not options.get("interactive", True):
            raise CommandError("--password、--random-password、--no-password のいずれかを指定してください。")
        first = getpass.getpass("パスワード: ")
        if first != getpass.getpass("パスワード（確認）: "):
            raise CommandError("パスワードが一致しません。")
        return first

    def handle(self, *args: Any, **options: Any) -> None:
        role = ROLE_WORDS.get(options["role"].strip())
        if role is None:
            raise CommandError(f"役割「{options['role']}」は使えません（閲覧・編集・管理のいずれか）。")
        unit = Unit.objects.active_on().filter(code=options["unit"]).first()
        if unit is None:
            raise CommandError(f"所属コード「{options['unit']}」の有効な所属がありません。")
        password = self._password(options)
        try:
            actor = (
                actor_from_username(options["as_user"])
                if options.get("as_user")
                else system_actor("createuser")
            )
            with transaction.atomic():
                user = user_create(
                    actor=actor,
                    username=options["username"],
                    unit=unit,
                    role=role,
                    full_name=options["name"],
                    email=options["email"],
                    password=password,
                )
                if options["staff"]:
                    user.is_staff = True
                    user.save(update_fields=["is_staff"])
                raw = None
                if options.get("token"):
                    _, raw = token_create(actor=actor_for(user), name=options["token"])
        except MachidataError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"ユーザー「{user.get_username()}」を作成しました（{unit.full_name}・{options['role']}）。"
            )
        )
        if options["random_password"]:
            self.stdout.write(f"パスワード: {password}")
        if raw:
            self.stdout.write(f"APIトークン（この表示は一度きりです）: {raw}")
