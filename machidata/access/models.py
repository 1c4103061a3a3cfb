"""Organisation (effective-dated units), memberships with roles, personal API tokens, and the 課長・代決者
designations that approval routes (:mod:`machidata.access.routes`) resolve."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class UnitKind(models.TextChoices):
    """Levels of a Japanese city's organisation."""

    BUREAU = "bureau", "局"
    WARD_OFFICE = "ward_office", "区役所"
    COMMISSION = "commission", "行政委員会"
    ENTERPRISE = "enterprise", "公営企業"
    DEPARTMENT = "department", "部"
    DIVISION = "division", "課"
    SECTION = "section", "係"


TOP_LEVEL_KINDS = {UnitKind.BUREAU, UnitKind.WARD_OFFICE, UnitKind.COMMISSION, UnitKind.ENTERPRISE}


class Role(models.TextChoices):
    """What a membership lets a person do in their unit."""

    VIEWER = "viewer", "閲覧"
    EDITOR = "editor", "編集（データ所有者）"
    ADMIN = "admin", "管理（データ戦略課）"


class StaffRank(models.TextChoices):
    """職位 of a membership: 管理職 (課長級以上) or 一般職 (the コア人材 register is kept in support)."""

    MANAGER = "manager", "管理職"
    GENERAL = "general", "一般職"


class Classification(models.TextChoices):
    """機密性 of a catalog entry, as the city's information security policy labels it."""

    PUBLIC = "public", "公開（機密性1・オープンデータ）"
    INTERNAL = "internal", "庁内（機密性2）"
    RESTRICTED = "restricted", "所属限定（機密性2）"
    CONFIDENTIAL = "confidential", "機密（機密性3）"


class PersonalData(models.TextChoices):
    """Personal-data class of the content (個人情報保護法の区分)."""

    NONE = "none", "なし"
    PERSONAL = "personal", "個人情報"
    SENSITIVE = "sensitive", "要配慮個人情報"
    PSEUDONYMISED = "pseudonymised", "仮名加工情報"
    ANONYMISED = "anonymised", "匿名加工情報"


class UnitQuerySet(models.QuerySet["Unit"]):
    def active_on(self, day: dt.date | None = None) -> UnitQuerySet:
        """Units in force on ``day`` (today by default)."""
        day = day or timezone.localdate()
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gte=day))


class Unit(models.Model):
    """A unit of the organisation (局・区役所・部・課・係), valid from one date to another."""

    code = models.CharField("所属コード", max_length=32)
    name = models.CharField("名称", max_length=200)
    kind = models.CharField("種別", max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上位組織",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    mailbox = models.EmailField("代表メール", blank=True)
    phone = models.CharField("代表電話", max_length=40, blank=True)
    valid_from = models.DateField("有効開始日", default=dt.date(2000, 4, 1))
    valid_to = models.DateField("有効終了日", null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        verbose_name="統合・移管先",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predecessors",
    )

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = "組織"
        verbose_name_plural = "組織"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="unit_code_valid_from_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        """Name with the chain of parents, e.g. 政策局 総合政策部 データ戦略課."""
        names = []
        node: Unit | None = self
        seen = 0
        while node is not None and seen < 8:
            names.append(node.name)
            node = node.parent
            seen += 1
        return " ".join(reversed(names))

    def is_active(self, day: dt.date | None = None) -> bool:
        """Whether the unit is in force on ``day``."""
        day = day or timezone.localdate()
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active_on(self, day: dt.date | None = None) -> MembershipQuerySet:
        """Memberships in force on ``day`` (today by default)."""
        day = day or timezone.localdate()
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gte=day))


class Membership(models.Model):
    """A person's place in a 課 or 係 with a role, effective-dated (staff move every April)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, verbose_name="所属", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField("役割", max_length=10, choices=Role.choices, default=Role.VIEWER)
    rank = models.CharField(
        "職位",
        max_length=10,
        choices=StaffRank.choices,
        default=StaffRank.GENERAL,
        help_text="管理職は所属する局の利用状況のページを見られます。",
    )
    valid_from = models.DateField("有効開始日", default=dt.date(2000, 4, 1))
    valid_to = models.DateField("有効終了日", null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = "所属・役割"
        verbose_name_plural = "所属・役割"
        ordering = ["user_id", "valid_from"]

    def __str__(self) -> str:
        return f"{self.user} — {self.unit.name}（{self.get_role_display()}）"


TOKEN_PREFIX = "mdt_"  # noqa: S105 - a public prefix that makes leaked tokens recognisable, not a secret


def hash_token(raw: str) -> str:
    """SHA-256 of a token; only the hash is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token (``Authorization: Bearer …``); the raw value is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名前", max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "APIトークン"
        verbose_name_plural = "APIトークン"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> str:
        """A new random raw token."""
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class UnitHistory(models.Model):
    """How a unit was named and placed until a change took effect (renames and moves are dated too)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="history")
    name = models.CharField("名称", max_length=200)
    kind = models.CharField("種別", max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    valid_from = models.DateField("有効開始日")
    valid_to = models.DateField("有効終了日")

    class Meta:
        verbose_name = "組織の変更履歴"
        verbose_name_plural = "組織の変更履歴"
        ordering = ["unit_id", "valid_from"]

    def __str__(self) -> str:
        return f"{self.name}（{self.valid_from}～{self.valid_to}）"


class DesignationKind(models.TextChoices):
    """What a designation makes a person in one unit's 決裁."""

    HEAD = "head", "課長（決裁権者）"
    DEPUTY = "deputy", "代決者"


class DesignationQuerySet(models.QuerySet["ApproverDesignation"]):
    def active_on(self, day: dt.date | None = None) -> DesignationQuerySet:
        """Designations in force on ``day`` (today by default)."""
        day = day or timezone.localdate()
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gte=day))


class ApproverDesignation(models.Model):
    """Who is the 課長 of a unit, and who may decide in their place (代決), effective-dated."""

    unit = models.ForeignKey(Unit, verbose_name="所属", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="職員", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField("種別", max_length=10, choices=DesignationKind.choices)
    valid_from = models.DateField("有効開始日", default=dt.date(2000, 4, 1))
    valid_to = models.DateField("有効終了日", null=True, blank=True)

    objects = DesignationQuerySet.as_manager()

    class Meta:
        verbose_name = "決裁権者・代決者"
        verbose_name_plural = "決裁権者・代決者"
        ordering = ["unit_id", "kind", "valid_from"]

    def __str__(self) -> str:
        return f"{self.unit.name} {self.get_kind_display()}: {self.user}"


class ContractKind(models.TextChoices):
    """Why a dataset carries contract terms."""

    PAID = "paid", "有償データ（購入・利用許諾）"
    COMMISSIONED = "commissioned", "委託成果物"


class Rights(models.TextChoices):
    """Who holds the rights to a 委託成果物."""

    CITY = "city", "市に帰属"
    CONTRACTOR = "contractor", "受託者に帰属"
    SHARED = "shared", "共有"


class DatasetContract(models.Model):
    """The contract terms of one dataset (paid data or a 委託成果物), read by the access policy.

    One-to-one with ``catalog.Dataset`` and kept in ``access`` because the policy decides with it
    (downloads, exports, publication) and the catalog sits above the policy; only datasets bought or
    commissioned have one.
    """

    dataset = models.OneToOneField("catalog.Dataset", on_delete=models.CASCADE, related_name="contract")
    kind = models.CharField("種別", max_length=20, choices=ContractKind.choices)
    cost_yen = models.PositiveBigIntegerField("費用（円）", null=True, blank=True)
    term_start = models.DateField("契約期間の開始", null=True, blank=True)
    term_end = models.DateField("契約期間の終了", null=True, blank=True)
    permitted_units = models.ManyToManyField(Unit, blank=True, related_name="+", verbose_name="利用できる課")
    permitted_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name="利用できる職員"
    )
    publication_allowed = models.BooleanField("公開（オープンデータ化）を契約が認める", default=False)
    contractor = models.CharField("受託者・提供元", max_length=200, blank=True)
    rights = models.CharField("権利の帰属", max_length=20, choices=Rights.choices, blank=True)
    delivered_on = models.DateField("納品日", null=True, blank=True)
    note = models.TextField("契約の条件（メモ）", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "データセットの契約条件"
        verbose_name_plural = "データセットの契約条件"

    def __str__(self) -> str:
        return f"{self.dataset_id}: {self.get_kind_display()}"


class Partner(models.Model):
    """An 外部協力者 (a university's or a company's researcher): a sign-in scoped to one approved use.

    Kept in ``access`` because the policy decides with it: the partner holds no membership, reads only
    the de-identified (仮名加工・匿名加工) datasets of ``use`` from ``starts_on`` to ``ends_on``, and
    reaches no other page or API operation (``policy.PARTNER_ROUTES``). Ending the account
    (``ended_at``) or the end of the period closes it at once.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner")
    organisation = models.CharField("所属機関（大学・企業）", max_length=200)
    use = models.ForeignKey(
        "privacy.ApprovedUse",
        verbose_name="承認された利用",
        on_delete=models.PROTECT,
        related_name="partners",
    )
    starts_on = models.DateField("利用開始日")
    ends_on = models.DateField("利用終了日")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登録日時", auto_now_add=True)
    ended_at = models.DateTimeField("終了日時", null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.TextField("終了の理由", blank=True)

    class Meta:
        verbose_name = "外部協力者"
        verbose_name_plural = "外部協力者"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"外部協力者 {self.user}（{self.organisation}）"

    def is_open(self, day: dt.date | None = None) -> bool:
        """Whether the account may be used on ``day`` (not ended, within its period)."""
        day = day or timezone.localdate()
        return self.ended_at is None and self.starts_on <= day <= self.ends_on
