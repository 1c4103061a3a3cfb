"""The authorization matrix: for every route and API operation, who may use it on which object.

Each entry names a route key (see :mod:`tests.security.routes`), the HTTP method it is probed with,
and a function of the :class:`~tests.security.world.World` giving probes: a URL and the set of
actors who must get through. Dataset-bound entries take that set from the policy table itself
(:meth:`World.allowed`, i.e. ``policy.decide`` over the actor's standings), so a change to the
policy changes the expectations; the other entries state the room's rule in words and in the set.

Routes that change things are probed for refusals only (an allowed actor would change the world
under the other probes); every refused attempt must also leave the audit log untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import reverse

from machidata.access.policy import Action
from tests.security.world import ACTORS, SIGNED_IN, World


def _public_units() -> set[str]:
    """Codes of the units that own a public dataset (their 所管課 page is public)."""
    from machidata.publish.selectors import public_datasets

    return set(public_datasets().values_list("owner__code", flat=True))


EVERYONE = frozenset(ACTORS) - {"partner"}  # everyone but an 外部協力者 (see PARTNER_REACHES at the end)
# The Django admin: 管理 manages these models there; the rest are for a superuser only (users,
# groups, and records that have their own pages), and two are never added by hand.
ADMIN_SITE_SUPERUSER_ONLY = frozenset(
    {
        "auth.user",
        "auth.group",
        "datarequests.datarequest",
        "jobs.job",
        "notify.notification",
        "charts.chart",  # charts and dashboards change on their own pages (owner or 管理)
        "charts.dashboard",
    }
)
# Made by their owners, append-only, or made only by the publication route:
ADMIN_SITE_NO_ADD = frozenset(
    {
        "access.apitoken",
        "audit.auditevent",
        "publish.publicationrequest",
        "publish.publishedversion",
        "publish.aggregatespec",
        "prep.recipe",  # recipes are made on the recipe page (read-only in the admin)
        "privacy.accessrequest",  # made only by the 利用申請 services
        "surveys.survey",  # surveys and rounds are made on the survey pages (read-only in the admin)
        "surveys.round",
        "collect.campaign",  # 照会 and their records change only on the campaign pages (read-only admin)
        "collect.recipient",
        "collect.submission",
        "collect.reminder",
        "collect.freshnessreminder",
        "collect.importsource",
        "collect.importedfile",
        "collect.watch",
        # EBPM records change only on the room's pages and API (ReadOnlyAdmin)
        "ebpm.planitem",
        "ebpm.budgetline",
        "ebpm.logicmodelversion",
        "ebpm.indicator",
        "ebpm.indicatortarget",
        "ebpm.indicatoractual",
        "ebpm.evaluation",
        "ebpm.evaluationplan",
        "ebpm.pagerequest",  # public pages: made only by the route's services
        "ebpm.publicpage",
        "analysis.analysis",  # analyses are run on the analysis page (read-only in the admin)
        "axes.accessattempt",  # failed sign-ins are counted by the lockout; 管理 only views and deletes (unlocks)
    }
)
ADMIN = frozenset({"admin"})
EDITORS = frozenset({"owner_editor", "other_editor", "admin"})  # 編集 of some 課, or 管理
OWNING_UNIT = frozenset({"owner_viewer", "owner_editor"})  # members of 健康づくり推進課 (and its 係)
NOBODY: frozenset[str] = frozenset()
REQUESTER = frozenset({"owner_editor"})  # files the test world's 公開申請
# A data request is seen by whoever filed it (``staff``), the 課 it was routed to, and 管理.
REQUEST_PARTIES = frozenset({"staff"}) | OWNING_UNIT | ADMIN


@dataclass(frozen=True)
class Probe:
    """One URL and the actors who must get through; everyone else must be refused."""

    url: str
    allowed: frozenset[str]
    label: str = ""
    dataset: object | None = None  # set for dataset-bound probes: refusal must not reveal a hidden entry
    body: object = None  # the JSON body, when the operation's example body is not enough


@dataclass(frozen=True)
class Rule:
    """How one route is probed."""

    method: str
    probes: Callable[[World], list[Probe]]
    api: bool = False
    reads: bool = False  # a POST that only reads (a query): judged by its answer, like a GET


def url(name: str, *args: object) -> str:
    """``reverse`` with positional arguments."""
    return reverse(name, args=list(args))


def fixed(allowed: Iterable[str], build: Callable[[World], str], method: str = "GET") -> Rule:
    """A route whose audience does not depend on a dataset."""
    return Rule(method, lambda w: [Probe(build(w), frozenset(allowed))])


def per_dataset(
    action: Action,
    build: Callable[[World, object], str],
    method: str = "GET",
    *,
    every_kind: bool = False,
    staff_only: bool = False,
) -> Rule:
    """A dataset-bound route, audience from the policy: probed on one dataset per distinct policy row
    (``every_kind``: on every kind of dataset, for the paths that show data), writes on a sample."""

    def probes(w: World) -> list[Probe]:
        if method != "GET":
            datasets = w.sample()
        elif every_kind:
            datasets = w.datasets
        else:
            datasets = w.distinct()
        audience = SIGNED_IN if staff_only else EVERYONE  # staff-only rooms (support) add a sign-in
        audience |= {"partner"}  # the policy decides; PARTNER_REACHES then keeps it only where it may go
        return [Probe(build(w, d), w.allowed(action, d) & audience, d.title, d) for d in datasets]

    return Rule(method, probes)


def api(method: str, allowed: Iterable[str], build: Callable[[World], str]) -> Rule:
    """An API operation whose audience does not depend on a dataset."""
    return Rule(method, lambda w: [Probe(build(w), frozenset(allowed))], api=True)


def api_dataset(
    method: str,
    action: Action,
    build: Callable[[World, object], str],
    *,
    every_kind: bool = False,
    staff_only: bool = False,
) -> Rule:
    """A dataset-bound API operation."""
    rule = per_dataset(action, build, method, every_kind=every_kind, staff_only=staff_only)
    return Rule(rule.method, rule.probes, api=True)


def downloadable(w: World, d: object) -> frozenset[str]:
    """Who may take a dataset's data away as a file: its readers, unless it is 仮名加工情報 (nobody)."""
    if getattr(d, "personal_data", "") == "pseudonymised":
        return NOBODY
    return w.allowed(Action.READ, d)


def downloads(build: Callable[[World, object], str], *, api: bool = False) -> Rule:
    """A download route, probed on every kind of dataset; audience from :func:`downloadable`."""
    return Rule(
        "GET",
        lambda w: [Probe(build(w, d), downloadable(w, d), d.title, d) for d in w.datasets],  # type: ignore[attr-defined]
        api=api,
    )


def on_deid(
    build: Callable[[World], str], method: str = "GET", *, edit: bool = False, api: bool = False
) -> Rule:
    """A 仮名加工 plan or run: its dataset's readers (and editors, for ``edit``)."""

    def probes(w: World) -> list[Probe]:
        d = w.objects["deid_dataset"]
        allowed = w.allowed(Action.READ, d)
        if edit:
            allowed &= w.allowed(Action.EDIT, d)
        return [Probe(build(w), allowed)]

    return Rule(method, probes, api=api)


def on_register_entry(build: Callable[[World], str], method: str = "GET", *, keepers: bool = True) -> Rule:
    """A 個人情報ファイル簿 entry: its dataset's editors, and (``keepers``) 管理."""

    def probes(w: World) -> list[Probe]:
        allowed = w.allowed(Action.EDIT, w.objects["register_dataset"]) - {"anonymous"}
        return [Probe(build(w), allowed | (ADMIN if keepers else NOBODY))]

    return Rule(method, probes)


def on_contract(method: str, *, page: bool = False) -> Rule:
    """A dataset's contract terms (API, or ``page``): its editors, and 管理 wherever it may discover the entry."""

    def probes(w: World) -> list[Probe]:
        datasets = w.distinct() if method == "GET" else w.sample()
        return [
            Probe(
                url("privacy_contracts:edit", _slug(d)) if page else f"/api/v1/privacy/contracts/{_slug(d)}",
                (w.allowed(Action.EDIT, d) | (ADMIN & w.allowed(Action.DISCOVER, d))) - {"anonymous"},
                d.title,  # type: ignore[attr-defined]
                d,
                body={"kind": "paid"},
            )
            for d in datasets
        ]

    return Rule(method, probes, api=not page)


def _slug(d: object) -> str:
    return d.slug  # type: ignore[attr-defined,no-any-return]


o = lambda w, key: w.objects[key].pk  # noqa: E731 — short accessor used throughout the table


def on_requests(
    build: Callable[[int], str], method: str = "GET", *, only: frozenset[str] | None = None, api: bool = False
) -> Rule:
    """A 公開申請 route, probed on a request on a 庁内 entry and on one on a hidden 機密 entry.

    A request is seen by the staff who may discover its dataset; ``only`` narrows who may act.
    """

    def probes(w: World) -> list[Probe]:
        out = []
        for key in ("publication", "publication_hidden"):
            req = w.objects[key]
            audience = w.allowed(Action.DISCOVER, req.dataset) & SIGNED_IN
            out.append(Probe(build(req.pk), audience if only is None else audience & only, key, req.dataset))
        return out

    return Rule(method, probes, api=api)


# Who a shared thing (chart, dashboard) is shown to by its sharing level, before the data check.
SHARED_WITH = {
    "private": frozenset({"owner_editor"}) | ADMIN,
    "department": OWNING_UNIT | ADMIN,
    "staff": SIGNED_IN,
}
MAKER = frozenset({"owner_editor"}) | ADMIN  # made the world's charts, dashboards and recipe; or 管理


def on_charts(
    build: Callable[[object], str], method: str = "GET", *, edit: bool = False, api: bool = False
) -> Rule:
    """A chart route on each chart of the world: seen by its sharing level AND by who may read its table now."""

    def probes(w: World) -> list[Probe]:
        out = []
        for key in ("chart_private", "chart_department", "chart_staff", "chart_restricted"):
            chart = w.objects[key]
            audience = SHARED_WITH[chart.sharing] & w.allowed(Action.READ, chart.table.dataset)
            out.append(Probe(build(chart.uuid), audience & MAKER if edit else audience, key))
        return out

    return Rule(method, probes, api=api)


def on_dashboards(
    build: Callable[[object], str], method: str = "GET", *, edit: bool = False, api: bool = False
) -> Rule:
    """A dashboard route: seen by its sharing level (each panel then checks its own chart)."""

    def probes(w: World) -> list[Probe]:
        out = []
        for key in ("dashboard_private", "dashboard_staff"):
            board = w.objects[key]
            audience = SHARED_WITH[board.sharing]
            out.append(Probe(build(board.uuid), audience & MAKER if edit else audience, key))
        return out

    return Rule(method, probes, api=api)


# A recipe is seen by its 課 (and 管理) and changed by those who may edit the dataset it writes into.
RECIPE_VIEWERS = OWNING_UNIT | ADMIN
RECIPE_EDITORS = MAKER
# A 照会 is seen by its 課, 管理, those who may edit its table (granted_editor) and its recipients'
# members (警防課: staff, other_editor, granted, granted_editor); it is managed by those who may edit the table.
CAMPAIGN_MANAGERS = MAKER | frozenset({"granted_editor"})
CAMPAIGN_ASKING = OWNING_UNIT | CAMPAIGN_MANAGERS
FIRE_MEMBERS = frozenset({"staff", "other_editor", "granted", "granted_editor"})
CAMPAIGN_VIEWERS = CAMPAIGN_ASKING | FIRE_MEMBERS
# An EBPM 事業 of the owning 課 is changed by that 課's 編集 and 管理 (policy.may_edit_unit_owned).
EBPM_EDITORS = frozenset({"owner_editor"}) | ADMIN


MATRIX: dict[str, Rule] = {
    # ---- core -----------------------------------------------------------------------------------
    "home": fixed(EVERYONE, lambda w: url("home")),
    "health": fixed(EVERYONE, lambda w: url("health")),
    "ready": fixed(EVERYONE, lambda w: url("ready")),
    "login": fixed(EVERYONE, lambda w: url("login")),
    "logout": fixed(EVERYONE, lambda w: url("logout"), "POST"),
    # OpenID Connect sign-in: open to everyone once configured; off in the test world, so 404 for all
    # (machidata/access/tests/test_signin_oidc.py signs in through both against a local provider).
    "sso:oidc_start": fixed(NOBODY, lambda w: url("sso:oidc_start")),
    "sso:oidc_callback": fixed(NOBODY, lambda w: url("sso:oidc_callback") + "?code=x&state=y"),
    "api:openapi-json": fixed(EVERYONE, lambda w: url("api:openapi-json")),
    "api:openapi-view": fixed(EVERYONE, lambda w: url("api:openapi-view")),
    # django-ninja's root route has no page of its own: 404 to everyone.
    "api:api-root": fixed(NOBODY, lambda w: "/api/v1/"),
    # ---- catalog --------------------------------------------------------------------------------
    "catalog:list": fixed(EVERYONE, lambda w: url("catalog:list")),
    "catalog:create": fixed(EDITORS, lambda w: url("catalog:create")),
    "catalog:export": fixed(EVERYONE, lambda w: url("catalog:export", "csv")),
    "catalog:inventory_upload": fixed(EDITORS, lambda w: url("catalog:inventory_upload")),
    "catalog:inventory_sheet": fixed(EDITORS, lambda w: url("catalog:inventory_sheet")),
    "catalog:inventory_mapping": fixed(EDITORS, lambda w: url("catalog:inventory_mapping")),
    "catalog:inventory_preview": fixed(EDITORS, lambda w: url("catalog:inventory_preview")),
    "catalog:inventory_result": fixed(EDITORS, lambda w: url("catalog:inventory_result")),
    # Without an import in progress there is no error list: 404 to everyone.
    "catalog:inventory_errors_csv": fixed(NOBODY, lambda w: url("catalog:inventory_errors_csv")),
    "catalog:detail": per_dataset(
        Action.DISCOVER, lambda w, d: url("catalog:detail", _slug(d)), every_kind=True
    ),
    "catalog:edit": per_dataset(Action.EDIT, lambda w, d: url("catalog:edit", _slug(d))),
    "catalog:retire": per_dataset(Action.EDIT, lambda w, d: url("catalog:retire", _slug(d)), "POST"),
    "catalog:ingest_upload": per_dataset(Action.EDIT, lambda w, d: url("catalog:ingest_upload", _slug(d))),
    # Without an upload in progress the preview is 404 to everyone (the upload's own tests cover the rest).
    "catalog:ingest_preview": fixed(NOBODY, lambda w: url("catalog:ingest_preview", _slug(w.datasets[0]))),
    "catalog:table_create": per_dataset(Action.EDIT, lambda w, d: url("catalog:table_create", _slug(d))),
    "catalog:table_detail": per_dataset(
        Action.DISCOVER, lambda w, d: url("catalog:table_detail", _slug(d), "t"), every_kind=True
    ),
    # 仮名加工情報 is read inside the platform only: its download is refused to everyone (法第73条).
    "catalog:table_download": downloads(
        lambda w, d: url("catalog:table_download", _slug(d), "t") + "?format=csv"
    ),
    "catalog:table_schema_edit": per_dataset(
        Action.EDIT, lambda w, d: url("catalog:table_schema_edit", _slug(d), "t")
    ),
    "catalog:table_restore": per_dataset(
        Action.EDIT, lambda w, d: url("catalog:table_restore", _slug(d), "t", 1), "POST"
    ),
    # ---- organisation, tokens -------------------------------------------------------------------
    "access:units": fixed(ADMIN, lambda w: url("access:units")),
    "access:import": fixed(ADMIN, lambda w: url("access:import")),
    "access:import_preview": fixed(ADMIN, lambda w: url("access:import_preview")),
    "access:tokens": fixed(SIGNED_IN, lambda w: url("access:tokens")),
    "access:token_create": fixed(SIGNED_IN, lambda w: url("access:token_create")),
    "access:token_revoke": fixed(
        {"owner_editor"}, lambda w: url("access:token_revoke", w.objects["token_id"]), "POST"
    ),
    # ---- audit, jobs ----------------------------------------------------------------------------
    "audit:list": fixed(ADMIN, lambda w: url("audit:list")),
    "audit:export": fixed(ADMIN, lambda w: url("audit:export")),
    "audit:detail": fixed(ADMIN, lambda w: url("audit:detail", o(w, "audit_event"))),
    "jobs:list": fixed(SIGNED_IN, lambda w: url("jobs:list")),
    "jobs:detail": fixed({"owner_editor", "admin"}, lambda w: url("jobs:detail", o(w, "job"))),
    "jobs:progress": fixed({"owner_editor", "admin"}, lambda w: url("jobs:progress", o(w, "job"))),
    "jobs:cancel": fixed({"owner_editor", "admin"}, lambda w: url("jobs:cancel", o(w, "job")), "POST"),
    # ---- data requests (filed by staff of 警防課, routed to 健康づくり推進課) -------------------
    "datarequests:list": fixed(SIGNED_IN, lambda w: url("datarequests:list")),
    "datarequests:new": fixed(SIGNED_IN, lambda w: url("datarequests:new")),
    "datarequests:detail": fixed(REQUEST_PARTIES, lambda w: url("datarequests:detail", o(w, "data_request"))),
    "datarequests:route": fixed(ADMIN, lambda w: url("datarequests:route", o(w, "data_request")), "POST"),
    "datarequests:answer": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("datarequests:answer", o(w, "data_request")), "POST"
    ),
    "datarequests:withdraw": fixed(
        {"staff", "admin"}, lambda w: url("datarequests:withdraw", o(w, "data_request")), "POST"
    ),
    "datarequests:comment": fixed(
        SIGNED_IN, lambda w: url("datarequests:comment", o(w, "data_request")), "POST"
    ),
    "notify:list": fixed(SIGNED_IN, lambda w: url("notify:list")),
    "notify:mark_all": fixed(SIGNED_IN, lambda w: url("notify:mark_all"), "POST"),
    # ---- support: consultation desk (opened by a 係 member of 健康づくり推進課) -----------------
    "support:home": fixed(SIGNED_IN, lambda w: url("support:home")),
    "support:consultations": fixed(SIGNED_IN, lambda w: url("support:consultations")),
    "support:consultation_new": fixed(SIGNED_IN, lambda w: url("support:consultation_new")),
    "support:consultation": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("support:consultation", o(w, "consultation"))
    ),
    "support:assign": fixed(ADMIN, lambda w: url("support:assign", o(w, "consultation")), "POST"),
    "support:log": fixed(OWNING_UNIT | ADMIN, lambda w: url("support:log", o(w, "consultation")), "POST"),
    "support:close": fixed(OWNING_UNIT | ADMIN, lambda w: url("support:close", o(w, "consultation")), "POST"),
    "support:withdraw": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("support:withdraw", o(w, "consultation")), "POST"
    ),
    "support:reopen": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("support:reopen", o(w, "consultation")), "POST"
    ),
    # ---- support: training ----------------------------------------------------------------------
    "support:training": fixed(SIGNED_IN, lambda w: url("support:training")),
    "support:test": fixed(SIGNED_IN, lambda w: url("support:test", o(w, "course"))),
    "support:session": fixed(ADMIN, lambda w: url("support:session", o(w, "session"))),
    "support:attendance_remove": fixed(
        ADMIN, lambda w: url("support:attendance_remove", o(w, "attendance")), "POST"
    ),
    "support:coverage": fixed(SIGNED_IN, lambda w: url("support:coverage")),
    "support:core": fixed(SIGNED_IN, lambda w: url("support:core")),
    "support:core_end": fixed(ADMIN, lambda w: url("support:core_end", o(w, "core")), "POST"),
    # The desk's monthly counts by 課 are for every member of staff (the strategy's own indicators).
    "support:summary": fixed(SIGNED_IN, lambda w: url("support:summary")),
    "support:usage": fixed(SIGNED_IN, lambda w: url("support:usage")),
    # A bureau's own page: its 管理職 (owner_editor, see world.py) and 管理; its 一般職 (owner_viewer) not.
    "support:usage_bureau": fixed(
        frozenset({"owner_editor"}) | ADMIN, lambda w: url("support:usage_bureau", o(w, "bureau"))
    ),
    "support:usage_rollout": fixed(ADMIN, lambda w: url("support:usage_rollout")),
    # ---- support: guides, Q&A, forum, cases -----------------------------------------------------
    "support:guides": fixed(SIGNED_IN, lambda w: url("support:guides")),
    "support:guide": fixed(SIGNED_IN, lambda w: url("support:guide", "basics")),
    "support:guide_history": fixed(SIGNED_IN, lambda w: url("support:guide_history", "basics")),
    "support:guide_version": fixed(SIGNED_IN, lambda w: url("support:guide_version", "basics", 1)),
    "support:guide_edit": fixed(ADMIN, lambda w: url("support:guide_edit", "basics")),
    "support:dataset_questions": per_dataset(
        Action.DISCOVER, lambda w, d: url("support:dataset_questions", _slug(d)), staff_only=True
    ),
    "support:question_answer": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("support:question_answer", o(w, "question")), "POST"
    ),
    "support:question_faq": fixed(ADMIN, lambda w: url("support:question_faq", o(w, "question")), "POST"),
    "support:forum": fixed(SIGNED_IN, lambda w: url("support:forum")),
    "support:thread_new": fixed(SIGNED_IN, lambda w: url("support:thread_new")),
    "support:thread": fixed(SIGNED_IN, lambda w: url("support:thread", o(w, "thread"))),
    "support:thread_faq": fixed(ADMIN, lambda w: url("support:thread_faq", o(w, "thread")), "POST"),
    "support:faq": fixed(SIGNED_IN, lambda w: url("support:faq")),
    "support:cases": fixed(SIGNED_IN, lambda w: url("support:cases")),
    "support:case_new": fixed(SIGNED_IN, lambda w: url("support:case_new")),
    "support:case": fixed(OWNING_UNIT | ADMIN, lambda w: url("support:case", o(w, "case_draft"))),
    "support:case_edit": fixed(OWNING_UNIT | ADMIN, lambda w: url("support:case_edit", o(w, "case_draft"))),
    "support:case_publish": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("support:case_publish", o(w, "case_draft")), "POST"
    ),
    "support:case_copy": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("support:case_copy", o(w, "case_draft")), "POST"
    ),
    # ---- privacy (利用申請) -----------------------------------------------------------------------
    # The world's request is by ``staff`` on a 所属限定 entry: seen by the requester, the owning 課 and
    # 管理; its first step is staff's 課長 (none of the cast), so nobody may act; only the requester
    # cancels; renewal and revocation belong to the owning 課's 編集 and 管理.
    "privacy:list": fixed(SIGNED_IN, lambda w: url("privacy:list")),
    "privacy:new": per_dataset(Action.DISCOVER, lambda w, d: url("privacy:new", _slug(d)), staff_only=True),
    "privacy:detail": fixed(REQUEST_PARTIES, lambda w: url("privacy:detail", o(w, "access_request"))),
    "privacy:act": fixed(NOBODY, lambda w: url("privacy:act", o(w, "access_request")), "POST"),
    "privacy:cancel": fixed({"staff"}, lambda w: url("privacy:cancel", o(w, "access_request")), "POST"),
    "privacy:renew": fixed(
        {"owner_editor", "admin"}, lambda w: url("privacy:renew", o(w, "access_request")), "POST"
    ),
    "privacy:revoke": fixed(
        {"owner_editor", "admin"}, lambda w: url("privacy:revoke", o(w, "access_request")), "POST"
    ),
    "GET /api/v1/access-requests/": api("GET", SIGNED_IN, lambda w: "/api/v1/access-requests/"),
    "POST /api/v1/access-requests/": api("POST", SIGNED_IN, lambda w: "/api/v1/access-requests/"),
    "GET /api/v1/access-requests/{request_id}": api(
        "GET", REQUEST_PARTIES, lambda w: f"/api/v1/access-requests/{o(w, 'access_request')}"
    ),
    "POST /api/v1/access-requests/{request_id}/act": api(
        "POST", NOBODY, lambda w: f"/api/v1/access-requests/{o(w, 'access_request')}/act"
    ),
    "POST /api/v1/access-requests/{request_id}/cancel": api(
        "POST", {"staff"}, lambda w: f"/api/v1/access-requests/{o(w, 'access_request')}/cancel"
    ),
    "POST /api/v1/access-requests/{request_id}/renew": api(
        "POST", {"owner_editor", "admin"}, lambda w: f"/api/v1/access-requests/{o(w, 'access_request')}/renew"
    ),
    "POST /api/v1/access-requests/{request_id}/revoke": api(
        "POST",
        {"owner_editor", "admin"},
        lambda w: f"/api/v1/access-requests/{o(w, 'access_request')}/revoke",
    ),
    # ---- privacy: 個人情報ファイル簿 and 保存期間 (issue 12, points 6-7) ----------------------------
    # The register and its export are for データ戦略課 (管理) and the privacy officer (none in the cast);
    # an entry is also the data owner's (whoever may edit its 個人情報 dataset); the public list is
    # everyone's (the law has the entries published; they hold no data).
    "privacy_register:list": fixed(ADMIN, lambda w: url("privacy_register:list")),
    "privacy_register:export": fixed(ADMIN, lambda w: url("privacy_register:export") + "?format=csv"),
    "privacy_register:entry": on_register_entry(
        lambda w: url("privacy_register:entry", _slug(w.objects["register_dataset"]))
    ),
    "privacy_register:publish": fixed(
        ADMIN, lambda w: url("privacy_register:publish", _slug(w.objects["register_dataset"])), "POST"
    ),
    "privacy_register:retention": on_register_entry(
        lambda w: url("privacy_register:retention", _slug(w.objects["register_dataset"])),
        "POST",
        keepers=False,
    ),
    "privacy_public:register": fixed(EVERYONE, lambda w: url("privacy_public:register")),
    "GET /api/v1/privacy/register": api("GET", ADMIN, lambda w: "/api/v1/privacy/register"),
    "GET /api/v1/privacy/register/{slug}": Rule(
        "GET",
        on_register_entry(
            lambda w: f"/api/v1/privacy/register/{_slug(w.objects['register_dataset'])}"
        ).probes,
        api=True,
    ),
    # ---- privacy: 承認された利用 (issue 12, point 5) -------------------------------------------------
    # The keepers (管理 and the privacy officer, none of the cast) see every entry and write; anyone
    # else sees the entries of their 課 (the world's entry is the owning 課's) and their own; the list
    # and its export are every signed-in member's (filtered to what they see).
    # 外部協力者: the keepers (データ戦略課, the privacy officer) manage the accounts; a partner has its page.
    "partners:list": fixed(ADMIN, lambda w: url("partners:list")),
    "partners:new": fixed(ADMIN, lambda w: url("partners:new")),
    "partners:end": fixed(ADMIN, lambda w: url("partners:end", o(w, "partner")), "POST"),
    "partners:home": fixed({"partner"}, lambda w: url("partners:home")),
    "GET /api/v1/privacy/partners": api("GET", ADMIN, lambda w: "/api/v1/privacy/partners"),
    "POST /api/v1/privacy/partners": api("POST", ADMIN, lambda w: "/api/v1/privacy/partners"),
    "POST /api/v1/privacy/partners/{partner_id}/end": api(
        "POST", ADMIN, lambda w: f"/api/v1/privacy/partners/{o(w, 'partner')}/end"
    ),
    "privacy_contracts:edit": on_contract("GET", page=True),
    "privacy_uses:list": fixed(SIGNED_IN, lambda w: url("privacy_uses:list")),
    "privacy_uses:export": fixed(SIGNED_IN, lambda w: url("privacy_uses:export") + "?format=csv"),
    "privacy_uses:new": fixed(ADMIN, lambda w: url("privacy_uses:new")),
    "privacy_uses:detail": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("privacy_uses:detail", o(w, "approved_use"))
    ),
    "privacy_uses:document": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("privacy_uses:document", o(w, "approved_use"))
    ),
    # Contract terms (有償データ・委託成果物): whoever may edit the dataset, and 管理 on any it discovers.
    "GET /api/v1/privacy/contracts/{slug}": on_contract("GET"),
    "PUT /api/v1/privacy/contracts/{slug}": on_contract("PUT"),
    "GET /api/v1/privacy/uses": api("GET", SIGNED_IN, lambda w: "/api/v1/privacy/uses"),
    "POST /api/v1/privacy/uses": api("POST", ADMIN, lambda w: "/api/v1/privacy/uses"),
    "GET /api/v1/privacy/uses/{use_id}": api(
        "GET", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/privacy/uses/{o(w, 'approved_use')}"
    ),
    # ---- deid (仮名加工・匿名加工) ----------------------------------------------------------------
    # A plan and its runs are seen by whoever may read its 仮名加工情報 dataset (the privacy officer,
    # none of the cast, too); uploads need EDIT as well; a new plan needs a 仮名加工 / 匿名加工 dataset
    # to edit (管理 edits every entry's metadata, so it may make a plan, but not read the plan after).
    "deid:index": fixed(SIGNED_IN, lambda w: url("deid:index")),
    "deid:plan_new": fixed({"owner_editor", "granted_editor", "admin"}, lambda w: url("deid:plan_new")),
    "deid:plan": on_deid(lambda w: url("deid:plan", o(w, "deid_plan"))),
    "deid:run_upload": on_deid(lambda w: url("deid:run_upload", o(w, "deid_plan")), "POST", edit=True),
    "deid:run": on_deid(lambda w: url("deid:run", o(w, "deid_run"))),
    "GET /api/v1/deid/plans": api("GET", SIGNED_IN, lambda w: "/api/v1/deid/plans"),
    "POST /api/v1/deid/plans": api("POST", SIGNED_IN, lambda w: "/api/v1/deid/plans"),
    "GET /api/v1/deid/plans/{plan_id}": on_deid(
        lambda w: f"/api/v1/deid/plans/{o(w, 'deid_plan')}", api=True
    ),
    "GET /api/v1/deid/plans/{plan_id}/runs": on_deid(
        lambda w: f"/api/v1/deid/plans/{o(w, 'deid_plan')}/runs", api=True
    ),
    "GET /api/v1/deid/runs/{run_id}": on_deid(lambda w: f"/api/v1/deid/runs/{o(w, 'deid_run')}", api=True),
    # ---- publication (公開申請・決裁) -------------------------------------------------------------
    "publish:list": fixed(SIGNED_IN, lambda w: url("publish:list")),
    "publish:candidates": fixed(ADMIN, lambda w: url("publish:candidates")),
    "publish:new": per_dataset(Action.EDIT, lambda w, d: url("publish:new", _slug(d))),
    "publish:withdraw": per_dataset(Action.EDIT, lambda w, d: url("publish:withdraw", _slug(d)), "POST"),
    "publish:table_aggregate": per_dataset(
        Action.EDIT, lambda w, d: url("publish:table_aggregate", _slug(d), "t")
    ),
    "publish:detail": on_requests(lambda pk: url("publish:detail", pk)),
    # The first step is the owning 課長's (a designation none of the cast holds), so nobody may act yet.
    "publish:act": on_requests(lambda pk: url("publish:act", pk), "POST", only=NOBODY),
    "publish:recheck": on_requests(lambda pk: url("publish:recheck", pk), "POST", only=REQUESTER | ADMIN),
    "publish:override": on_requests(lambda pk: url("publish:override", pk), "POST", only=ADMIN),
    "publish:cancel": on_requests(lambda pk: url("publish:cancel", pk), "POST", only=REQUESTER | ADMIN),
    "GET /api/v1/publication/candidates": api("GET", ADMIN, lambda w: "/api/v1/publication/candidates"),
    "GET /api/v1/publication/datasets/{slug}": api_dataset(
        "GET", Action.DISCOVER, lambda w, d: f"/api/v1/publication/datasets/{_slug(d)}", staff_only=True
    ),
    "PUT /api/v1/publication/datasets/{slug}/threshold": api_dataset(
        "PUT", Action.EDIT, lambda w, d: f"/api/v1/publication/datasets/{_slug(d)}/threshold"
    ),
    "GET /api/v1/publication/requests": api("GET", SIGNED_IN, lambda w: "/api/v1/publication/requests"),
    "POST /api/v1/publication/requests": api("POST", EDITORS, lambda w: "/api/v1/publication/requests"),
    "GET /api/v1/publication/requests/{request_id}": on_requests(
        lambda pk: f"/api/v1/publication/requests/{pk}", api=True
    ),
    "POST /api/v1/publication/requests/{request_id}/act": on_requests(
        lambda pk: f"/api/v1/publication/requests/{pk}/act", "POST", only=NOBODY, api=True
    ),
    "POST /api/v1/publication/requests/{request_id}/cancel": on_requests(
        lambda pk: f"/api/v1/publication/requests/{pk}/cancel", "POST", only=REQUESTER | ADMIN, api=True
    ),
    "POST /api/v1/publication/requests/{request_id}/overrides": on_requests(
        lambda pk: f"/api/v1/publication/requests/{pk}/overrides", "POST", only=ADMIN, api=True
    ),
    "POST /api/v1/publication/requests/{request_id}/recheck": on_requests(
        lambda pk: f"/api/v1/publication/requests/{pk}/recheck", "POST", only=REQUESTER | ADMIN, api=True
    ),
    "POST /api/v1/publication/withdrawals": api("POST", EDITORS, lambda w: "/api/v1/publication/withdrawals"),
    "PUT /api/v1/publication/tables/{slug}/{name}/aggregate": api_dataset(
        "PUT", Action.EDIT, lambda w, d: f"/api/v1/publication/tables/{_slug(d)}/t/aggregate"
    ),
    "POST /api/v1/publication/tables/{slug}/{name}/suppress": api_dataset(
        "POST", Action.EDIT, lambda w, d: f"/api/v1/publication/tables/{_slug(d)}/t/suppress"
    ),
    # ---- charts and dashboards (グラフ) -----------------------------------------------------------
    "charts:list": fixed(SIGNED_IN, lambda w: url("charts:list")),
    # The builder and its preview read the table named in ?table=: READ on it, staff only.
    "charts:new": per_dataset(
        Action.READ, lambda w, d: url("charts:new") + f"?table={_slug(d)}/t", staff_only=True
    ),
    "charts:preview": per_dataset(
        Action.READ,
        lambda w, d: url("charts:preview") + f"?table={_slug(d)}/t&type=bar&x=区&measure=count",
        staff_only=True,
    ),
    "charts:detail": on_charts(lambda u: url("charts:detail", u)),
    "charts:edit": on_charts(lambda u: url("charts:edit", u), edit=True),
    "charts:delete": on_charts(lambda u: url("charts:delete", u), "POST", edit=True),
    "charts:export": on_charts(lambda u: url("charts:export", u, "csv")),
    "charts:dashboards": fixed(SIGNED_IN, lambda w: url("charts:dashboards")),
    # boundary sets (町丁・校区) are reference data every member of staff maps with; 管理 uploads them
    "charts:boundaries": fixed(SIGNED_IN, lambda w: url("charts:boundaries")),
    "charts:boundary_upload": fixed(ADMIN, lambda w: url("charts:boundary_upload"), "POST"),
    "charts:dashboard_new": fixed(SIGNED_IN, lambda w: url("charts:dashboard_new")),
    "charts:dashboard": on_dashboards(lambda u: url("charts:dashboard", u)),
    "charts:dashboard_export": on_dashboards(lambda u: url("charts:dashboard_export", u, "pptx")),
    "charts:dashboard_add_chart": on_dashboards(
        lambda u: url("charts:dashboard_add_chart", u), "POST", edit=True
    ),
    "charts:dashboard_add_text": on_dashboards(
        lambda u: url("charts:dashboard_add_text", u), "POST", edit=True
    ),
    "charts:dashboard_edit": on_dashboards(lambda u: url("charts:dashboard_edit", u), edit=True),
    "charts:dashboard_item": on_dashboards(
        lambda u: url("charts:dashboard_item", u, 0, "down"), "POST", edit=True
    ),
    "charts:dashboard_remove": on_dashboards(
        lambda u: url("charts:dashboard_remove", u, 0), "POST", edit=True
    ),
    "GET /api/v1/charts/": api("GET", SIGNED_IN, lambda w: "/api/v1/charts/"),
    "POST /api/v1/charts/": api("POST", SIGNED_IN, lambda w: "/api/v1/charts/"),
    "GET /api/v1/charts/{chart_uuid}": on_charts(lambda u: f"/api/v1/charts/{u}", api=True),
    "GET /api/v1/charts/{chart_uuid}/spec": on_charts(lambda u: f"/api/v1/charts/{u}/spec", api=True),
    "GET /api/v1/charts/{chart_uuid}/export/{fmt}": on_charts(
        lambda u: f"/api/v1/charts/{u}/export/csv", api=True
    ),
    "GET /api/v1/dashboards/": api("GET", SIGNED_IN, lambda w: "/api/v1/dashboards/"),
    "GET /api/v1/dashboards/{dashboard_uuid}": on_dashboards(lambda u: f"/api/v1/dashboards/{u}", api=True),
    "GET /api/v1/dashboards/{dashboard_uuid}/export/{fmt}": on_dashboards(
        lambda u: f"/api/v1/dashboards/{u}/export/pptx", api=True
    ),
    # ---- public sharing of charts and dashboards (公開, issue 7 point 5) --------------------------------
    # Filing and stopping: the chart's (dashboard's) owner, an 編集 of its 課 (here the owner) or 管理, among
    # those who see it. A request is seen by its requester and owner, 管理 and whoever may decide a step (the
    # world has no 課長: nobody may decide the pending request's first step); the requester or 管理 takes it back.
    "charts:public_request_new": on_charts(lambda u: url("charts:public_request_new", u), "POST", edit=True),
    "charts:public_withdraw": on_charts(lambda u: url("charts:public_withdraw", u), "POST", edit=True),
    "charts:dashboard_public_request_new": on_dashboards(
        lambda u: url("charts:dashboard_public_request_new", u), "POST", edit=True
    ),
    "charts:dashboard_public_withdraw": on_dashboards(
        lambda u: url("charts:dashboard_public_withdraw", u), "POST", edit=True
    ),
    "charts:public_request": fixed(
        MAKER, lambda w: url("charts:public_request", o(w, "chart_share_request"))
    ),
    "charts:public_request_act": fixed(
        NOBODY, lambda w: url("charts:public_request_act", o(w, "chart_share_request")), "POST"
    ),
    "charts:public_request_cancel": fixed(
        REQUESTER | ADMIN, lambda w: url("charts:public_request_cancel", o(w, "chart_share_request")), "POST"
    ),
    "POST /api/v1/charts/{chart_uuid}/public-requests": on_charts(
        lambda u: f"/api/v1/charts/{u}/public-requests", "POST", edit=True, api=True
    ),
    "POST /api/v1/charts/{chart_uuid}/public-withdrawal": on_charts(
        lambda u: f"/api/v1/charts/{u}/public-withdrawal", "POST", edit=True, api=True
    ),
    "POST /api/v1/dashboards/{dashboard_uuid}/public-requests": on_dashboards(
        lambda u: f"/api/v1/dashboards/{u}/public-requests", "POST", edit=True, api=True
    ),
    "POST /api/v1/dashboards/{dashboard_uuid}/public-withdrawal": on_dashboards(
        lambda u: f"/api/v1/dashboards/{u}/public-withdrawal", "POST", edit=True, api=True
    ),
    # The public pages: no sign-in, the same for everyone; only what the route published, and only while its
    # tables are published (the chart under decision is 404 to everyone, its owner and 管理 included).
    "charts_public:list": fixed(EVERYONE, lambda w: url("charts_public:list")),
    "charts_public:chart": Rule(
        "GET",
        lambda w: [
            Probe(url("charts_public:chart", w.objects["public_chart"].uuid), EVERYONE, "published"),
            Probe(url("charts_public:chart", w.objects["pending_public_chart"].uuid), NOBODY, "pending"),
            Probe(url("charts_public:chart", w.objects["chart_staff"].uuid), NOBODY, "internal"),
        ],
    ),
    "charts_public:chart_export": Rule(
        "GET",
        lambda w: [
            Probe(
                url("charts_public:chart_export", w.objects["public_chart"].uuid, "csv"),
                EVERYONE,
                "published",
            ),
            Probe(
                url("charts_public:chart_export", w.objects["pending_public_chart"].uuid, "csv"),
                NOBODY,
                "pending",
            ),
        ],
    ),
    "charts_public:dashboard": Rule(
        "GET",
        lambda w: [
            Probe(url("charts_public:dashboard", w.objects["public_dashboard"].uuid), EVERYONE, "published"),
            Probe(  # its filters with bad values: taken as not chosen, never a 500
                url("charts_public:dashboard", w.objects["public_dashboard"].uuid)
                + "?f0="
                + "東" * 300
                + "&f1_from=2024-13-40&f1_to=abc&f2=abc&f9=x",
                EVERYONE,
                "published, bad filter values",
            ),
            Probe(url("charts_public:dashboard", w.objects["dashboard_staff"].uuid), NOBODY, "internal"),
        ],
    ),
    # ---- data preparation (加工) -----------------------------------------------------------------
    "prep:list": fixed(SIGNED_IN, lambda w: url("prep:list")),
    "prep:detail": fixed(RECIPE_VIEWERS, lambda w: url("prep:detail", o(w, "recipe"))),
    "prep:step_preview": fixed(RECIPE_VIEWERS, lambda w: url("prep:step_preview", o(w, "recipe"), 0)),
    "prep:step_add": fixed(RECIPE_EDITORS, lambda w: url("prep:step_add", o(w, "recipe")), "POST"),
    "prep:step_remove": fixed(RECIPE_EDITORS, lambda w: url("prep:step_remove", o(w, "recipe"), 0), "POST"),
    "prep:source_add": fixed(RECIPE_EDITORS, lambda w: url("prep:source_add", o(w, "recipe")), "POST"),
    "prep:run": fixed(RECIPE_EDITORS, lambda w: url("prep:run", o(w, "recipe")), "POST"),
    "prep:certify": fixed(ADMIN, lambda w: url("prep:certify", o(w, "recipe")), "POST"),
    "prep:starter": fixed(SIGNED_IN, lambda w: url("prep:starter", "rate")),
    "prep:codelists": fixed(SIGNED_IN, lambda w: url("prep:codelists")),
    "prep:codelist": fixed(SIGNED_IN, lambda w: url("prep:codelist", "ward-kumamoto")),
    "GET /api/v1/recipes/": api("GET", SIGNED_IN, lambda w: "/api/v1/recipes/"),
    "POST /api/v1/recipes/": api("POST", EDITORS, lambda w: "/api/v1/recipes/"),
    "GET /api/v1/recipes/starters": api("GET", SIGNED_IN, lambda w: "/api/v1/recipes/starters"),
    "POST /api/v1/recipes/starters/{slug}": api("POST", EDITORS, lambda w: "/api/v1/recipes/starters/rate"),
    "GET /api/v1/recipes/{recipe_id}": api(
        "GET", RECIPE_VIEWERS, lambda w: f"/api/v1/recipes/{o(w, 'recipe')}"
    ),
    "GET /api/v1/recipes/{recipe_id}/steps": api(
        "GET", RECIPE_VIEWERS, lambda w: f"/api/v1/recipes/{o(w, 'recipe')}/steps"
    ),
    "PUT /api/v1/recipes/{recipe_id}/definition": api(
        "PUT", RECIPE_EDITORS, lambda w: f"/api/v1/recipes/{o(w, 'recipe')}/definition"
    ),
    "POST /api/v1/recipes/{recipe_id}/run": api(
        "POST", RECIPE_EDITORS, lambda w: f"/api/v1/recipes/{o(w, 'recipe')}/run"
    ),
    "POST /api/v1/recipes/{recipe_id}/copy": api(
        "POST", RECIPE_EDITORS, lambda w: f"/api/v1/recipes/{o(w, 'recipe')}/copy"
    ),
    "POST /api/v1/recipes/{recipe_id}/certify": api(
        "POST", ADMIN, lambda w: f"/api/v1/recipes/{o(w, 'recipe')}/certify"
    ),
    # ---- API: catalog ---------------------------------------------------------------------------
    "GET /api/v1/datasets": api("GET", EVERYONE, lambda w: "/api/v1/datasets"),
    "POST /api/v1/datasets": api("POST", EDITORS, lambda w: "/api/v1/datasets"),
    "GET /api/v1/datasets/{slug}": api_dataset(
        "GET", Action.DISCOVER, lambda w, d: f"/api/v1/datasets/{_slug(d)}", every_kind=True
    ),
    "PATCH /api/v1/datasets/{slug}": api_dataset(
        "PATCH", Action.EDIT, lambda w, d: f"/api/v1/datasets/{_slug(d)}"
    ),
    "POST /api/v1/datasets/{slug}/retire": api_dataset(
        "POST", Action.EDIT, lambda w, d: f"/api/v1/datasets/{_slug(d)}/retire"
    ),
    "GET /api/v1/datasets/{slug}/tables": api_dataset(
        "GET", Action.DISCOVER, lambda w, d: f"/api/v1/datasets/{_slug(d)}/tables"
    ),
    "GET /api/v1/datasets/{slug}/tables/{name}": api_dataset(
        "GET", Action.DISCOVER, lambda w, d: f"/api/v1/datasets/{_slug(d)}/tables/t"
    ),
    "GET /api/v1/datasets/{slug}/tables/{name}/versions": api_dataset(
        "GET", Action.DISCOVER, lambda w, d: f"/api/v1/datasets/{_slug(d)}/tables/t/versions"
    ),
    "GET /api/v1/datasets/{slug}/tables/{name}/rows": api_dataset(
        "GET", Action.READ, lambda w, d: f"/api/v1/datasets/{_slug(d)}/tables/t/rows", every_kind=True
    ),
    "GET /api/v1/datasets/{slug}/tables/{name}/download": downloads(
        lambda w, d: f"/api/v1/datasets/{_slug(d)}/tables/t/download?format=csv", api=True
    ),
    "GET /api/v1/search": api("GET", EVERYONE, lambda w: "/api/v1/search?q=M"),
    "POST /api/v1/query": Rule(
        "POST",
        lambda w: [
            Probe(
                f"/api/v1/query?format={fmt}",
                w.allowed(Action.READ, d) if fmt == "json" else downloadable(w, d),
                f"{d.title} {fmt}",
                d,
                body={"dataset": d.slug, "table": "t", "query": {"measures": [{"op": "count"}]}},
            )
            for fmt in ("json", "csv", "arrow")
            # JSON on every kind of dataset; the other answers on one per policy row
            for d in (w.datasets if fmt == "json" else w.distinct())
        ],
        api=True,
        reads=True,
    ),
    # ---- API: organisation, tokens, jobs --------------------------------------------------------
    "GET /api/v1/departments": api("GET", EVERYONE, lambda w: "/api/v1/departments"),
    "GET /api/v1/departments/{code}": api(
        "GET", EVERYONE, lambda w: f"/api/v1/departments/{w.actors.org.health_div.code}"
    ),
    "GET /api/v1/tokens": api("GET", SIGNED_IN, lambda w: "/api/v1/tokens"),
    "POST /api/v1/tokens": api("POST", SIGNED_IN, lambda w: "/api/v1/tokens"),
    "DELETE /api/v1/tokens/{token_id}": api(
        "DELETE", {"owner_editor"}, lambda w: f"/api/v1/tokens/{w.objects['token_id']}"
    ),
    "GET /api/v1/jobs/": api("GET", SIGNED_IN, lambda w: "/api/v1/jobs/"),
    "GET /api/v1/jobs/{job_id}": api(
        "GET", {"owner_editor", "admin"}, lambda w: f"/api/v1/jobs/{o(w, 'job')}"
    ),
    "POST /api/v1/jobs/{job_id}/cancel": api(
        "POST", {"owner_editor", "admin"}, lambda w: f"/api/v1/jobs/{o(w, 'job')}/cancel"
    ),
    # ---- API: data requests ---------------------------------------------------------------------
    "GET /api/v1/data-requests/": api("GET", SIGNED_IN, lambda w: "/api/v1/data-requests/"),
    "POST /api/v1/data-requests/": api("POST", SIGNED_IN, lambda w: "/api/v1/data-requests/"),
    "GET /api/v1/data-requests/{request_id}": api(
        "GET", REQUEST_PARTIES, lambda w: f"/api/v1/data-requests/{o(w, 'data_request')}"
    ),
    "POST /api/v1/data-requests/{request_id}/route": api(
        "POST", ADMIN, lambda w: f"/api/v1/data-requests/{o(w, 'data_request')}/route"
    ),
    "POST /api/v1/data-requests/{request_id}/answer": api(
        "POST", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/data-requests/{o(w, 'data_request')}/answer"
    ),
    "POST /api/v1/data-requests/{request_id}/withdraw": api(
        "POST", {"staff", "admin"}, lambda w: f"/api/v1/data-requests/{o(w, 'data_request')}/withdraw"
    ),
    "POST /api/v1/data-requests/{request_id}/comments": api(
        "POST", SIGNED_IN, lambda w: f"/api/v1/data-requests/{o(w, 'data_request')}/comments"
    ),
    # ---- API: support ---------------------------------------------------------------------------
    "GET /api/v1/support/consultations": api("GET", SIGNED_IN, lambda w: "/api/v1/support/consultations"),
    "POST /api/v1/support/consultations": api("POST", SIGNED_IN, lambda w: "/api/v1/support/consultations"),
    "GET /api/v1/support/consultations/{pk}": api(
        "GET", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/support/consultations/{o(w, 'consultation')}"
    ),
    **{
        f"POST /api/v1/support/consultations/{{pk}}/{verb}": api(
            "POST",
            ADMIN if verb == "assign" else OWNING_UNIT | ADMIN,
            lambda w, verb=verb: f"/api/v1/support/consultations/{o(w, 'consultation')}/{verb}",
        )
        for verb in ("assign", "entries", "close", "withdraw", "reopen")
    },
    "GET /api/v1/support/courses": api("GET", SIGNED_IN, lambda w: "/api/v1/support/courses"),
    "GET /api/v1/support/courses/{pk}/test": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/support/courses/{o(w, 'course')}/test"
    ),
    "POST /api/v1/support/courses/{pk}/attempts": api(
        "POST", SIGNED_IN, lambda w: f"/api/v1/support/courses/{o(w, 'course')}/attempts"
    ),
    "GET /api/v1/support/sessions/{pk}/attendance": api(
        "GET", ADMIN, lambda w: f"/api/v1/support/sessions/{o(w, 'session')}/attendance"
    ),
    "POST /api/v1/support/sessions/{pk}/attendance": api(
        "POST", ADMIN, lambda w: f"/api/v1/support/sessions/{o(w, 'session')}/attendance"
    ),
    "GET /api/v1/support/coverage": api("GET", SIGNED_IN, lambda w: "/api/v1/support/coverage"),
    "GET /api/v1/support/summary": api("GET", SIGNED_IN, lambda w: "/api/v1/support/summary"),
    "GET /api/v1/support/core-staff": api("GET", SIGNED_IN, lambda w: "/api/v1/support/core-staff"),
    "GET /api/v1/support/guides": api("GET", SIGNED_IN, lambda w: "/api/v1/support/guides"),
    "GET /api/v1/support/guides/{slug}": api("GET", SIGNED_IN, lambda w: "/api/v1/support/guides/basics"),
    "PUT /api/v1/support/guides/{slug}": api("PUT", ADMIN, lambda w: "/api/v1/support/guides/basics"),
    "GET /api/v1/support/guides/{slug}/versions": api(
        "GET", SIGNED_IN, lambda w: "/api/v1/support/guides/basics/versions"
    ),
    "GET /api/v1/support/datasets/{slug}/questions": api_dataset(
        "GET", Action.DISCOVER, lambda w, d: f"/api/v1/support/datasets/{_slug(d)}/questions", staff_only=True
    ),
    "POST /api/v1/support/datasets/{slug}/questions": api_dataset(
        "POST",
        Action.DISCOVER,
        lambda w, d: f"/api/v1/support/datasets/{_slug(d)}/questions",
        staff_only=True,
    ),
    "POST /api/v1/support/questions/{pk}/answer": api(
        "POST", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/support/questions/{o(w, 'question')}/answer"
    ),
    "POST /api/v1/support/questions/{pk}/faq": api(
        "POST", ADMIN, lambda w: f"/api/v1/support/questions/{o(w, 'question')}/faq"
    ),
    "GET /api/v1/support/forum/topics": api("GET", SIGNED_IN, lambda w: "/api/v1/support/forum/topics"),
    "GET /api/v1/support/forum/threads": api("GET", SIGNED_IN, lambda w: "/api/v1/support/forum/threads"),
    "POST /api/v1/support/forum/threads": api("POST", SIGNED_IN, lambda w: "/api/v1/support/forum/threads"),
    "GET /api/v1/support/forum/threads/{pk}": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/support/forum/threads/{o(w, 'thread')}"
    ),
    "POST /api/v1/support/forum/threads/{pk}/replies": api(
        "POST", SIGNED_IN, lambda w: f"/api/v1/support/forum/threads/{o(w, 'thread')}/replies"
    ),
    "POST /api/v1/support/forum/threads/{pk}/faq": api(
        "POST", ADMIN, lambda w: f"/api/v1/support/forum/threads/{o(w, 'thread')}/faq"
    ),
    "GET /api/v1/support/faq": api("GET", SIGNED_IN, lambda w: "/api/v1/support/faq"),
    "GET /api/v1/support/cases": api("GET", SIGNED_IN, lambda w: "/api/v1/support/cases"),
    "POST /api/v1/support/cases": api("POST", SIGNED_IN, lambda w: "/api/v1/support/cases"),
    "GET /api/v1/support/cases/{pk}": api(
        "GET", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/support/cases/{o(w, 'case_draft')}"
    ),
    "PUT /api/v1/support/cases/{pk}": api(
        "PUT", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/support/cases/{o(w, 'case_draft')}"
    ),
    "POST /api/v1/support/cases/{pk}/publish": api(
        "POST", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/support/cases/{o(w, 'case_draft')}/publish"
    ),
    "POST /api/v1/support/cases/{pk}/copy": api(
        "POST", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/support/cases/{o(w, 'case_draft')}/copy"
    ),
    "GET /api/v1/support/usage": api("GET", SIGNED_IN, lambda w: "/api/v1/support/usage"),
    # ---- portal -------------------------------------------------------------------------------
    # The public site and the CKAN API: no login, the same answer for everyone. The world approves no
    # publication, so every dataset page and download (公開 ones included) is 404 to everyone; the
    # published case is tested in machidata/portal/tests.
    "portal:home": fixed(EVERYONE, lambda w: url("portal:home")),
    "portal:search": fixed(EVERYONE, lambda w: url("portal:search")),
    "portal:dataset": Rule(
        "GET", lambda w: [Probe(url("portal:dataset", d.slug), NOBODY, d.slug) for d in w.distinct()]
    ),
    "portal:download": Rule(
        "GET", lambda w: [Probe(url("portal:download", d.slug, "t"), NOBODY, d.slug) for d in w.distinct()]
    ),
    "portal:download_as": Rule(
        "GET",
        lambda w: [
            Probe(url("portal:download_as", d.slug, "t", "xlsx"), NOBODY, d.slug) for d in w.distinct()
        ],
    ),
    # a 所管課 page exists only for units with a public dataset (the world publishes one table for the
    # public charts): that unit's page is open to everyone, every other unit's page is 404
    "portal:organization": Rule(
        "GET",
        lambda w: [
            Probe(url("portal:organization", code), EVERYONE if code in _public_units() else NOBODY, code)
            for code in sorted({d.owner.code for d in w.distinct()})
        ],
    ),
    "portal:dataset_rdf": Rule(
        "GET",
        lambda w: [Probe(url("portal:dataset_rdf", d.slug, "ttl"), NOBODY, d.slug) for d in w.distinct()],
    ),
    "portal:datapackage": Rule(
        "GET", lambda w: [Probe(url("portal:datapackage", d.slug), NOBODY, d.slug) for d in w.distinct()]
    ),
    "dcat:catalog": fixed(EVERYONE, lambda w: url("dcat:catalog", "ttl")),
    "ckan:action": fixed(EVERYONE, lambda w: url("ckan:action", "package_search")),
    "ckan:action_unversioned": fixed(EVERYONE, lambda w: url("ckan:action_unversioned", "package_list")),
    "portal:standard_download": Rule(
        "GET",
        lambda w: [
            Probe(url("portal:standard_download", d.slug, "t", "431001_fire_hydrant.csv"), NOBODY, d.slug)
            for d in w.distinct()
        ],
    ),
    # ---- standard open-data sets (推奨データセット・自治体標準ODS) ------------------------------------
    # The templates are reference material for everyone; a table's declaration page and its checklist
    # need READ (they show values), declaring needs EDIT (the data owner), the standard-format CSV of the
    # current version is a download (readers, not 仮名加工情報). Every world table is declared.
    "standards:index": fixed(EVERYONE, lambda w: url("standards:index")),
    "standards:template": fixed(EVERYONE, lambda w: url("standards:template", "aed")),
    "standards:table": per_dataset(
        Action.READ, lambda w, d: url("standards:table", _slug(d), "t"), staff_only=True
    ),
    "standards:declare": per_dataset(
        Action.EDIT, lambda w, d: url("standards:declare", _slug(d), "t"), "POST"
    ),
    "standards:undeclare": per_dataset(
        Action.EDIT, lambda w, d: url("standards:undeclare", _slug(d), "t"), "POST"
    ),
    "standards:download": downloads(
        lambda w, d: url("standards:download", _slug(d), "t")
    ),  # as catalog:table_download
    "GET /api/v1/standards/": api("GET", SIGNED_IN, lambda w: "/api/v1/standards/"),
    "GET /api/v1/standards/tables/{slug}/{name}": api_dataset(
        "GET", Action.READ, lambda w, d: f"/api/v1/standards/tables/{_slug(d)}/t", staff_only=True
    ),
    "POST /api/v1/standards/tables/{slug}/{name}": api_dataset(
        "POST", Action.EDIT, lambda w, d: f"/api/v1/standards/tables/{_slug(d)}/t"
    ),
    # ---- surveys (アンケート集計): the owner 課 (健康づくり推進課, 係 included) and 管理 read; its 編集 writes
    "surveys:list": fixed(SIGNED_IN, lambda w: url("surveys:list")),
    "surveys:detail": fixed(OWNING_UNIT | ADMIN, lambda w: url("surveys:detail", o(w, "survey"))),
    "surveys:compare": fixed(OWNING_UNIT | ADMIN, lambda w: url("surveys:compare", o(w, "survey"))),
    "surveys:questions": fixed(OWNING_UNIT | ADMIN, lambda w: url("surveys:questions", o(w, "survey_round"))),
    "surveys:tables": fixed(OWNING_UNIT | ADMIN, lambda w: url("surveys:tables", o(w, "survey_round"))),
    "surveys:crosstab": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("surveys:crosstab", o(w, "survey_round")) + "?by=0&of=2"
    ),
    "surveys:freetext": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("surveys:freetext", o(w, "survey_round")) + "?question=3&by=0"
    ),
    "surveys:targets": fixed(
        {"owner_editor"}, lambda w: url("surveys:targets", o(w, "survey_round")), "POST"
    ),
    "surveys:delete": fixed({"owner_editor"}, lambda w: url("surveys:delete", o(w, "survey_round")), "POST"),
    # the files are the page's tables, suppressed the same way outside the 課 (管理)
    "surveys:tables_export": fixed(
        OWNING_UNIT | ADMIN, lambda w: url("surveys:tables_export", o(w, "survey_round")) + "?format=csv"
    ),
    "surveys:crosstab_export": fixed(
        OWNING_UNIT | ADMIN,
        lambda w: url("surveys:crosstab_export", o(w, "survey_round")) + "?by=0&of=2&format=xlsx",
    ),
    "GET /api/v1/surveys/": api("GET", SIGNED_IN, lambda w: "/api/v1/surveys/"),
    "GET /api/v1/surveys/{survey_id}": api(
        "GET", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/surveys/{o(w, 'survey')}"
    ),
    "GET /api/v1/surveys/rounds/{round_id}/tables": api(
        "GET", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/tables"
    ),
    "GET /api/v1/surveys/rounds/{round_id}/crosstab": api(
        "GET",
        OWNING_UNIT | ADMIN,
        lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/crosstab?by=0&of=2",
    ),
    # writes: the owner 課's 編集 only (管理 reads every survey but edits only its own 課's)
    "POST /api/v1/surveys/": Rule(
        "POST",
        lambda w: [
            Probe(
                "/api/v1/surveys/",
                frozenset({"owner_editor"}),
                "for 健康づくり推進課",
                body={"title": "市民アンケート", "unit_id": w.actors.org.health_div.pk},
            )
        ],
        api=True,
    ),
    "POST /api/v1/surveys/{survey_id}/rounds": api(
        "POST", {"owner_editor"}, lambda w: f"/api/v1/surveys/{o(w, 'survey')}/rounds"
    ),
    "GET /api/v1/surveys/rounds/{round_id}/questions": api(
        "GET", OWNING_UNIT | ADMIN, lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/questions"
    ),
    "PUT /api/v1/surveys/rounds/{round_id}/questions": api(
        "PUT", {"owner_editor"}, lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/questions"
    ),
    "PUT /api/v1/surveys/rounds/{round_id}/questions/{position}": api(
        "PUT", {"owner_editor"}, lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/questions/0"
    ),
    "PUT /api/v1/surveys/rounds/{round_id}/targets": api(
        "PUT", {"owner_editor"}, lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/targets"
    ),
    "DELETE /api/v1/surveys/rounds/{round_id}": api(
        "DELETE", {"owner_editor"}, lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}"
    ),
    "GET /api/v1/surveys/rounds/{round_id}/tables/export": api(
        "GET",
        OWNING_UNIT | ADMIN,
        lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/tables/export?format=csv",
    ),
    "GET /api/v1/surveys/rounds/{round_id}/crosstab/export": api(
        "GET",
        OWNING_UNIT | ADMIN,
        lambda w: f"/api/v1/surveys/rounds/{o(w, 'survey_round')}/crosstab/export?by=0&of=2&format=xlsx",
    ),
    # ---- collection (照会) and freshness ------------------------------------------------------------
    "collect:list": fixed(SIGNED_IN, lambda w: url("collect:list")),
    "collect:create": fixed(SIGNED_IN, lambda w: url("collect:create")),
    "collect:freshness": fixed(SIGNED_IN, lambda w: url("collect:freshness")),
    "collect:detail": fixed(CAMPAIGN_VIEWERS, lambda w: url("collect:detail", o(w, "campaign"))),
    "collect:close": fixed(CAMPAIGN_MANAGERS, lambda w: url("collect:close", o(w, "campaign")), "POST"),
    "collect:recipient": Rule(
        "GET",
        lambda w: [
            Probe(
                url("collect:recipient", o(w, "campaign"), o(w, "campaign_facility")),
                CAMPAIGN_ASKING,
                "facility",
            ),
            Probe(
                url("collect:recipient", o(w, "campaign"), o(w, "campaign_unit")), CAMPAIGN_VIEWERS, "unit"
            ),
        ],
    ),
    "collect:template": Rule(
        "GET",
        lambda w: [
            Probe(
                url("collect:template", o(w, "campaign"), o(w, "campaign_facility")),
                CAMPAIGN_MANAGERS,
                "facility",
            ),
            Probe(
                url("collect:template", o(w, "campaign"), o(w, "campaign_unit")),
                CAMPAIGN_MANAGERS | FIRE_MEMBERS,
                "unit",
            ),
        ],
    ),
    "collect:upload": fixed(
        CAMPAIGN_MANAGERS,
        lambda w: url("collect:upload", o(w, "campaign"), o(w, "campaign_facility")),
        "POST",
    ),
    "collect:rows": fixed(
        CAMPAIGN_MANAGERS, lambda w: url("collect:rows", o(w, "campaign"), o(w, "campaign_facility")), "POST"
    ),
    # Folder imports: the list page is for every member of staff (showing only imports into tables they
    # may edit); one import is seen and run by those who may edit its table.
    "collect:watching": fixed(SIGNED_IN, lambda w: url("collect:watching")),
    "collect:watch": per_dataset(
        Action.DISCOVER, lambda w, d: url("collect:watch", _slug(d)), "POST", staff_only=True
    ),
    "collect:imports": fixed(SIGNED_IN, lambda w: url("collect:imports")),
    "collect:import_detail": fixed(
        CAMPAIGN_MANAGERS, lambda w: url("collect:import_detail", o(w, "import_source"))
    ),
    "collect:import_scan": fixed(
        CAMPAIGN_MANAGERS, lambda w: url("collect:import_scan", o(w, "import_source")), "POST"
    ),
    # オープンデータの取り込み: データ戦略課 (管理) only; writes are probed for refusals.
    "collect:opendata": fixed(ADMIN, lambda w: url("collect:opendata")),
    "collect:opendata_detail": fixed(ADMIN, lambda w: url("collect:opendata_detail", o(w, "opendata_run"))),
    "collect:opendata_run": fixed(ADMIN, lambda w: url("collect:opendata_run", o(w, "opendata_run")), "POST"),
    "collect:opendata_columns": fixed(
        ADMIN, lambda w: url("collect:opendata_columns", o(w, "opendata_run")), "POST"
    ),
    "collect:opendata_publish": fixed(
        ADMIN, lambda w: url("collect:opendata_publish", o(w, "opendata_run")), "POST"
    ),
    "GET /api/v1/opendata/": api("GET", ADMIN, lambda w: "/api/v1/opendata/"),
    "POST /api/v1/opendata/ckan": Rule(
        "POST",
        lambda w: [
            Probe(
                "/api/v1/opendata/ckan",
                ADMIN,
                "a CKAN portal",
                body={"url": "https://ckan.city.example.lg.jp/", "owner": w.actors.org.fire_div.code},
            )
        ],
        api=True,
    ),
    "GET /api/v1/opendata/{run_id}": api("GET", ADMIN, lambda w: f"/api/v1/opendata/{o(w, 'opendata_run')}"),
    "POST /api/v1/opendata/{run_id}/run": api(
        "POST", ADMIN, lambda w: f"/api/v1/opendata/{o(w, 'opendata_run')}/run"
    ),
    "GET /api/v1/schedules/": api("GET", SIGNED_IN, lambda w: "/api/v1/schedules/"),
    "POST /api/v1/schedules/": Rule(
        "POST",
        lambda w: [
            Probe(
                "/api/v1/schedules/",
                CAMPAIGN_MANAGERS,
                "internal table",
                body={"table": f"{w.objects['internal'].slug}/t", "folder": "kenkou"},
            )
        ],
        api=True,
    ),
    "GET /api/v1/schedules/{schedule_id}": api(
        "GET", CAMPAIGN_MANAGERS, lambda w: f"/api/v1/schedules/{o(w, 'import_source')}"
    ),
    "POST /api/v1/schedules/{schedule_id}/scan": api(
        "POST", CAMPAIGN_MANAGERS, lambda w: f"/api/v1/schedules/{o(w, 'import_source')}/scan"
    ),
    "GET /api/v1/campaigns/": api("GET", SIGNED_IN, lambda w: "/api/v1/campaigns/"),
    "POST /api/v1/campaigns/": Rule(
        "POST",
        lambda w: [
            Probe(
                "/api/v1/campaigns/",
                CAMPAIGN_MANAGERS,
                "internal table",
                body={
                    "table": f"{w.objects['internal'].slug}/t",
                    "title": "照会",
                    "deadline": "2999-01-01",
                    "facilities": ["第2合成小学校"],
                },
            )
        ],
        api=True,
    ),
    "GET /api/v1/campaigns/{campaign_id}": api(
        "GET", CAMPAIGN_VIEWERS, lambda w: f"/api/v1/campaigns/{o(w, 'campaign')}"
    ),
    "GET /api/v1/campaigns/{campaign_id}/status": api(
        "GET", CAMPAIGN_ASKING, lambda w: f"/api/v1/campaigns/{o(w, 'campaign')}/status"
    ),
    "GET /api/v1/campaigns/{campaign_id}/recipients/{recipient_id}/template": api(
        "GET",
        CAMPAIGN_MANAGERS,
        lambda w: f"/api/v1/campaigns/{o(w, 'campaign')}/recipients/{o(w, 'campaign_facility')}/template",
    ),
    "POST /api/v1/campaigns/{campaign_id}/recipients/{recipient_id}/returns": api(
        "POST",
        CAMPAIGN_MANAGERS,
        lambda w: f"/api/v1/campaigns/{o(w, 'campaign')}/recipients/{o(w, 'campaign_facility')}/returns",
    ),
    "POST /api/v1/campaigns/{campaign_id}/recipients/{recipient_id}/rows": api(
        "POST",
        CAMPAIGN_MANAGERS,
        lambda w: f"/api/v1/campaigns/{o(w, 'campaign')}/recipients/{o(w, 'campaign_facility')}/rows",
    ),
    # ---- alerts (アラート): each person's own rules, alerts and e-mail choice ---------------------------
    "collect:alerts": fixed(SIGNED_IN, lambda w: url("collect:alerts")),
    "collect:alert_new": fixed(SIGNED_IN, lambda w: url("collect:alert_new")),
    "collect:alert_email": fixed(SIGNED_IN, lambda w: url("collect:alert_email"), "POST"),
    "collect:alert_delete": fixed(
        {"staff"}, lambda w: url("collect:alert_delete", o(w, "alert_rule")), "POST"
    ),
    "GET /api/v1/alerts/": api("GET", SIGNED_IN, lambda w: "/api/v1/alerts/"),
    "GET /api/v1/alerts/rules": api("GET", SIGNED_IN, lambda w: "/api/v1/alerts/rules"),
    "POST /api/v1/alerts/rules": api("POST", SIGNED_IN, lambda w: "/api/v1/alerts/rules"),
    "GET /api/v1/alerts/rules/{rule_id}": api(
        "GET", {"staff"}, lambda w: f"/api/v1/alerts/rules/{o(w, 'alert_rule')}"
    ),
    "DELETE /api/v1/alerts/rules/{rule_id}": api(
        "DELETE", {"staff"}, lambda w: f"/api/v1/alerts/rules/{o(w, 'alert_rule')}"
    ),
    "GET /api/v1/alerts/email": api("GET", SIGNED_IN, lambda w: "/api/v1/alerts/email"),
    "PUT /api/v1/alerts/email": api("PUT", SIGNED_IN, lambda w: "/api/v1/alerts/email"),
    # ---- EBPM (事業・ロジックモデル・検証指標) ------------------------------------------------------
    # Shared across the city: every member of staff reads; the owning 課's 編集 and 管理 change.
    "ebpm:list": fixed(SIGNED_IN, lambda w: url("ebpm:list")),
    "ebpm:new": fixed(EDITORS, lambda w: url("ebpm:new")),
    "ebpm:calendar": fixed(SIGNED_IN, lambda w: url("ebpm:calendar")),
    "ebpm:detail": fixed(SIGNED_IN, lambda w: url("ebpm:detail", o(w, "ebpm_item"))),
    "ebpm:edit": fixed(EBPM_EDITORS, lambda w: url("ebpm:edit", o(w, "ebpm_item")), "POST"),
    "ebpm:stage": fixed(EBPM_EDITORS, lambda w: url("ebpm:stage", o(w, "ebpm_item")), "POST"),
    "ebpm:budget": fixed(EBPM_EDITORS, lambda w: url("ebpm:budget", o(w, "ebpm_item")), "POST"),
    "ebpm:model_edit": fixed(EBPM_EDITORS, lambda w: url("ebpm:model_edit", o(w, "ebpm_item"))),
    "ebpm:model_svg": fixed(SIGNED_IN, lambda w: url("ebpm:model_svg", o(w, "ebpm_item"))),
    "ebpm:model_pptx": fixed(SIGNED_IN, lambda w: url("ebpm:model_pptx", o(w, "ebpm_item"))),
    "ebpm:rs_zip": fixed(SIGNED_IN, lambda w: url("ebpm:rs_zip", o(w, "ebpm_item"))),
    "ebpm:evaluation_sheet": fixed(
        SIGNED_IN, lambda w: url("ebpm:evaluation_sheet", o(w, "ebpm_item")) + "?year=2024"
    ),
    "ebpm:evaluation_sheet_import": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:evaluation_sheet_import", o(w, "ebpm_item")), "POST"
    ),
    "ebpm:sheet_template": fixed(SIGNED_IN, lambda w: url("ebpm:sheet_template")),
    "ebpm:model_history": fixed(SIGNED_IN, lambda w: url("ebpm:model_history", o(w, "ebpm_item"))),
    "ebpm:indicator_new": fixed(EBPM_EDITORS, lambda w: url("ebpm:indicator_new", o(w, "ebpm_item"))),
    "ebpm:indicator": fixed(SIGNED_IN, lambda w: url("ebpm:indicator", o(w, "ebpm_indicator"))),
    "ebpm:indicator_target": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:indicator_target", o(w, "ebpm_indicator")), "POST"
    ),
    "ebpm:indicator_actual": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:indicator_actual", o(w, "ebpm_indicator")), "POST"
    ),
    "ebpm:indicator_recompute": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:indicator_recompute", o(w, "ebpm_indicator")), "POST"
    ),
    "ebpm:indicator_query": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:indicator_query", o(w, "ebpm_indicator")), "POST"
    ),
    "ebpm:indicator_remove": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:indicator_remove", o(w, "ebpm_indicator")), "POST"
    ),
    "ebpm:indicator_schedule": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:indicator_schedule", o(w, "ebpm_indicator")), "POST"
    ),
    "GET /api/v1/ebpm/items": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/items"),
    "POST /api/v1/ebpm/items": api("POST", EDITORS, lambda w: "/api/v1/ebpm/items"),
    "GET /api/v1/ebpm/items/{item_id}": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}"
    ),
    "POST /api/v1/ebpm/items/{item_id}/stage": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/stage"
    ),
    "PUT /api/v1/ebpm/items/{item_id}/budget": api(
        "PUT", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/budget"
    ),
    "POST /api/v1/ebpm/items/{item_id}/indicators": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/indicators"
    ),
    "POST /api/v1/ebpm/indicators/{indicator_id}/targets": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}/targets"
    ),
    "GET /api/v1/ebpm/items/{item_id}/logic-model": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model"
    ),
    "PUT /api/v1/ebpm/items/{item_id}/logic-model": api(
        "PUT", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model"
    ),
    "GET /api/v1/ebpm/items/{item_id}/logic-model/versions": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model/versions"
    ),
    "GET /api/v1/ebpm/items/{item_id}/logic-model/versions/{number}": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model/versions/1"
    ),
    "GET /api/v1/ebpm/indicators": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/indicators"),
    "GET /api/v1/ebpm/indicators/{indicator_id}": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}"
    ),
    "GET /api/v1/ebpm/indicators/{indicator_id}/actuals": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}/actuals"
    ),
    "POST /api/v1/ebpm/indicators/{indicator_id}/actuals": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}/actuals"
    ),
    # evaluations and the 査定 view (all staff read; the owning 課's 編集 and 管理 write)
    "ebpm:review": fixed(SIGNED_IN, lambda w: url("ebpm:review") + "?year=2024"),
    "ebpm:strategy": fixed(SIGNED_IN, lambda w: url("ebpm:strategy")),
    "ebpm:review_csv": fixed(SIGNED_IN, lambda w: url("ebpm:review_csv") + "?year=2024"),
    "ebpm:review_xlsx": fixed(SIGNED_IN, lambda w: url("ebpm:review_xlsx") + "?year=2024"),
    "ebpm:evaluation_new": fixed(EBPM_EDITORS, lambda w: url("ebpm:evaluation_new", o(w, "ebpm_item"))),
    "ebpm:evaluation": fixed(SIGNED_IN, lambda w: url("ebpm:evaluation", o(w, "ebpm_evaluation"))),
    "ebpm:evaluation_edit": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:evaluation_edit", o(w, "ebpm_evaluation"))
    ),
    "ebpm:plan_add": fixed(EBPM_EDITORS, lambda w: url("ebpm:plan_add", o(w, "ebpm_item")), "POST"),
    "ebpm:plan_remove": fixed(EBPM_EDITORS, lambda w: url("ebpm:plan_remove", o(w, "ebpm_plan")), "POST"),
    "GET /api/v1/ebpm/evaluations": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/evaluations"),
    "GET /api/v1/ebpm/evaluations/{evaluation_id}": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/evaluations/{o(w, 'ebpm_evaluation')}"
    ),
    "PUT /api/v1/ebpm/evaluations/{evaluation_id}": api(
        "PUT", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/evaluations/{o(w, 'ebpm_evaluation')}"
    ),
    "POST /api/v1/ebpm/items/{item_id}/evaluations": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/evaluations"
    ),
    "GET /api/v1/ebpm/review": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/review?fiscal_year=2024"),
    "GET /api/v1/ebpm/items/{item_id}/evaluation-plans": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/evaluation-plans"
    ),
    "POST /api/v1/ebpm/items/{item_id}/evaluation-plans": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/evaluation-plans"
    ),
    # The rest of the pages' features (issue 9 point 8): files for all staff, writes for the owning 課's
    # 編集 and 管理; the board's survey mapping and its page form for 管理 (データ戦略課) only.
    "ebpm:strategy_survey": fixed(ADMIN, lambda w: url("ebpm:strategy_survey"), "POST"),
    "PUT /api/v1/ebpm/items/{item_id}": api(
        "PUT", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}"
    ),
    "POST /api/v1/ebpm/items/{item_id}/logic-model/copy": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model/copy"
    ),
    "GET /api/v1/ebpm/logic-model-examples": api(
        "GET", SIGNED_IN, lambda w: "/api/v1/ebpm/logic-model-examples"
    ),
    "POST /api/v1/ebpm/items/{item_id}/logic-model/example": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model/example"
    ),
    "GET /api/v1/ebpm/items/{item_id}/logic-model.svg": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model.svg"
    ),
    "GET /api/v1/ebpm/items/{item_id}/logic-model.pptx": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/logic-model.pptx"
    ),
    "GET /api/v1/ebpm/items/{item_id}/rs-sheet.zip": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/rs-sheet.zip"
    ),
    "GET /api/v1/ebpm/items/{item_id}/evaluation-sheet.xlsx": api(
        "GET",
        SIGNED_IN,
        lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/evaluation-sheet.xlsx?fiscal_year=2024",
    ),
    "POST /api/v1/ebpm/items/{item_id}/evaluation-sheet": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/evaluation-sheet"
    ),
    "GET /api/v1/ebpm/evaluation-sheet-template.xlsx": api(
        "GET", SIGNED_IN, lambda w: "/api/v1/ebpm/evaluation-sheet-template.xlsx"
    ),
    "GET /api/v1/ebpm/review/export": api(
        "GET", SIGNED_IN, lambda w: "/api/v1/ebpm/review/export?fiscal_year=2024&format=csv"
    ),
    "GET /api/v1/ebpm/calendar": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/calendar"),
    "GET /api/v1/ebpm/strategy": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/strategy"),
    "GET /api/v1/ebpm/strategy/survey-links": api(
        "GET", SIGNED_IN, lambda w: "/api/v1/ebpm/strategy/survey-links"
    ),
    "PUT /api/v1/ebpm/strategy/survey-links/{key}": api(
        "PUT", ADMIN, lambda w: "/api/v1/ebpm/strategy/survey-links/skill"
    ),
    "DELETE /api/v1/ebpm/strategy/survey-links/{key}": api(
        "DELETE", ADMIN, lambda w: "/api/v1/ebpm/strategy/survey-links/skill"
    ),
    "PUT /api/v1/ebpm/indicators/{indicator_id}/query": api(
        "PUT", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}/query"
    ),
    "POST /api/v1/ebpm/indicators/{indicator_id}/recompute": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}/recompute"
    ),
    "PUT /api/v1/ebpm/indicators/{indicator_id}/schedule": api(
        "PUT", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}/schedule"
    ),
    "DELETE /api/v1/ebpm/indicators/{indicator_id}": api(
        "DELETE", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/indicators/{o(w, 'ebpm_indicator')}"
    ),
    "DELETE /api/v1/ebpm/evaluation-plans/{plan_id}": api(
        "DELETE", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/evaluation-plans/{o(w, 'ebpm_plan')}"
    ),
    # Public pages of a 事業 (issue 9 point 7): every member of staff reads the requests; the owning 課's
    # 編集 and 管理 file; the route decides who approves (the world has no 課長, so nobody may act on the
    # pending request's first step); the requester or 管理 takes a request back.
    "ebpm:page_requests": fixed(SIGNED_IN, lambda w: url("ebpm:page_requests") + "?scope=awaiting"),
    "ebpm:page_request": fixed(SIGNED_IN, lambda w: url("ebpm:page_request", o(w, "ebpm_page_request"))),
    "ebpm:page_request_act": fixed(
        NOBODY, lambda w: url("ebpm:page_request_act", o(w, "ebpm_page_request")), "POST"
    ),
    "ebpm:page_request_cancel": fixed(
        REQUESTER | ADMIN, lambda w: url("ebpm:page_request_cancel", o(w, "ebpm_page_request")), "POST"
    ),
    "ebpm:page_new": fixed(SIGNED_IN, lambda w: url("ebpm:page_new", o(w, "ebpm_item"))),
    "ebpm:page_withdraw": fixed(
        EBPM_EDITORS, lambda w: url("ebpm:page_withdraw", o(w, "ebpm_public_item")), "POST"
    ),
    "GET /api/v1/ebpm/page-requests": api("GET", SIGNED_IN, lambda w: "/api/v1/ebpm/page-requests"),
    "GET /api/v1/ebpm/page-requests/{request_id}": api(
        "GET", SIGNED_IN, lambda w: f"/api/v1/ebpm/page-requests/{o(w, 'ebpm_page_request')}"
    ),
    "POST /api/v1/ebpm/items/{item_id}/page-requests": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_item')}/page-requests"
    ),
    "POST /api/v1/ebpm/items/{item_id}/page-withdrawals": api(
        "POST", EBPM_EDITORS, lambda w: f"/api/v1/ebpm/items/{o(w, 'ebpm_public_item')}/page-withdrawals"
    ),
    "POST /api/v1/ebpm/page-requests/{request_id}/act": api(
        "POST", NOBODY, lambda w: f"/api/v1/ebpm/page-requests/{o(w, 'ebpm_page_request')}/act"
    ),
    "POST /api/v1/ebpm/page-requests/{request_id}/cancel": api(
        "POST", REQUESTER | ADMIN, lambda w: f"/api/v1/ebpm/page-requests/{o(w, 'ebpm_page_request')}/cancel"
    ),
    # The public read and the public pages: no sign-in, the same for everyone, published pages only
    # (the world's 事業 with a pending request is 404 to everyone, staff included).
    "GET /api/v1/ebpm/public/pages": api("GET", EVERYONE, lambda w: "/api/v1/ebpm/public/pages"),
    "GET /api/v1/ebpm/public/pages/{item_id}": Rule(
        "GET",
        lambda w: [
            Probe(f"/api/v1/ebpm/public/pages/{o(w, 'ebpm_public_item')}", EVERYONE, "published"),
            Probe(f"/api/v1/ebpm/public/pages/{o(w, 'ebpm_item')}", NOBODY, "pending"),
        ],
        api=True,
    ),
    "ebpm_public:list": fixed(EVERYONE, lambda w: url("ebpm_public:list")),
    "ebpm_public:detail": Rule(
        "GET",
        lambda w: [
            Probe(url("ebpm_public:detail", o(w, "ebpm_public_item")), EVERYONE, "published"),
            Probe(url("ebpm_public:detail", o(w, "ebpm_item")), NOBODY, "pending"),
        ],
    ),
    # ---- analysis (分析) ---------------------------------------------------------------------------
    # Any signed-in staff may analyse the tables they may read (table_query decides); a saved analysis is
    # its owner's (and 管理's). The world holds no analysis: a detail is 404 to everyone (owner-only access
    # is tested in machidata/analysis/tests).
    "analysis:list": fixed(SIGNED_IN, lambda w: url("analysis:list")),
    "analysis:detail": fixed(NOBODY, lambda w: url("analysis:detail", 999999)),
    "analysis:export": fixed(NOBODY, lambda w: url("analysis:export", 999999, "xlsx")),
    "analysis:sample_size": fixed(SIGNED_IN, lambda w: url("analysis:sample_size")),
    "GET /api/v1/analyses/": api("GET", SIGNED_IN, lambda w: "/api/v1/analyses/"),
    "POST /api/v1/analyses/": api("POST", SIGNED_IN, lambda w: "/api/v1/analyses/"),
    "GET /api/v1/analyses/{analysis_id}": api("GET", NOBODY, lambda w: "/api/v1/analyses/999999"),
    "POST /api/v1/analyses/sample-size": api("POST", SIGNED_IN, lambda w: "/api/v1/analyses/sample-size"),
    # ---- SQL console (issue 14, point 2) ----------------------------------------------------------------
    # Any signed-in staff may open the console; a statement reads a table only when the policy lets the
    # caller READ its dataset. A table that is hidden or not readable answers 404, like a missing one.
    "console:page": fixed(SIGNED_IN, lambda w: url("console:page")),
    "POST /api/v1/sql": Rule(
        "POST",
        lambda w: [
            Probe(
                "/api/v1/sql",
                w.allowed(Action.READ, d) & SIGNED_IN,
                d.title,
                d,
                body={"sql": f'SELECT count(*) AS n FROM "{d.slug}"."t"'},  # noqa: S608 — a probe
            )
            for d in w.datasets  # every kind of dataset: this route shows data
        ],
        api=True,
        reads=True,
    ),
}


# ---- 外部協力者 (partner) ---------------------------------------------------------------------------
# A partner reaches only these routes (access.policy.PARTNER_ROUTES / PARTNER_API), and on the
# dataset-bound ones only what the policy table lets it (its use's 仮名加工・匿名加工 datasets: the
# probes' audiences come from World.allowed). The start page and the catalog list send it to its own
# page (a redirect, not a refusal); it may sign in and out. Everywhere else it must be refused.
PARTNER_REACHES = frozenset(
    {
        "catalog:detail",
        "catalog:table_detail",
        "catalog:table_download",
        "GET /api/v1/datasets/{slug}",
        "GET /api/v1/datasets/{slug}/tables",
        "GET /api/v1/datasets/{slug}/tables/{name}",
        "GET /api/v1/datasets/{slug}/tables/{name}/versions",
        "GET /api/v1/datasets/{slug}/tables/{name}/rows",
        "GET /api/v1/datasets/{slug}/tables/{name}/download",
        "partners:home",
    }
)
PARTNER_LANDS = frozenset({"home", "catalog:list", "login", "logout"})
# Public API operations that take no sign-in: a token is never read there, so a partner calling with
# one is served as the public (the published EBPM pages); through a session the gate refuses them.
PARTNER_AS_PUBLIC = frozenset({"GET /api/v1/ebpm/public/pages", "GET /api/v1/ebpm/public/pages/{item_id}"})


def _for_partner(key: str, rule: Rule) -> Rule:
    def probes(w: World) -> list[Probe]:
        out = []
        for p in rule.probes(w):
            if key in PARTNER_LANDS:
                allowed = p.allowed | {"partner"}
            elif key in PARTNER_AS_PUBLIC:
                allowed = p.allowed | ({"partner"} if "anonymous" in p.allowed else set())
            elif key in PARTNER_REACHES:
                allowed = p.allowed
            else:
                allowed = p.allowed - {"partner"}
            out.append(Probe(p.url, allowed, p.label, p.dataset, p.body))
        return out

    return Rule(rule.method, probes, rule.api, rule.reads)


MATRIX = {key: _for_partner(key, rule) for key, rule in MATRIX.items()}
