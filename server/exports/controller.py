"""``/v1/admin/sites/{site_key}/profiles`` (export) and ``…/outcomes`` (server-side
purchases, orders and support contacts), behind the site's admin token."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from rapport.client_py.schema import ID_PATTERN, PATTERNS
from rapport.server.admin.controller import authorise_admin
from rapport.server.errors import ApiError
from rapport.server.holdout import arm_of
from rapport.server.json_body import decode_body
from rapport.server.openapi import SiteKeyPath, error_responses
from rapport.server.profiles import Observations, Profile
from rapport.server.request_body import read_body
from rapport.server.scoring import ScoreModel, prior_model, score_profile
from rapport.server.services import Services
from rapport.server.sites import config_store
from rapport.server.storage.base import IngestBatch, StoredSignal, StoredSignals

__all__ = [
    "OUTCOME_BATCH_PREFIX",
    "ExportsController",
    "OutcomeIn",
    "OutcomeReply",
    "load_models",
    "profile_row",
]

_STRICT_ID: Final = r"\A(?:" + ID_PATTERN.removeprefix("^").removesuffix("$") + r")\Z"
_ACTION: Final = {"purchase": "purchase", "order": "purchase", "support_contact": "support_contact"}
#: Outcomes are stored as server-side batches under ``outcome:<sha256 of kind:id>``. The
#: colon keeps them in their own keyspace: collect batch ids match ``ID_PATTERN``, which has
#: no colon, so a collect can never take an outcome's id first (migration 0004 renamed the
#: outcomes stored under the former ``outcome-`` prefix, which a collect could forge).
OUTCOME_BATCH_PREFIX: Final = "outcome:"


class OutcomeIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """An outcome the site's own server knows (checkout, CRM)."""

    visitor: Annotated[str, msgspec.Meta(pattern=_STRICT_ID)]
    kind: Literal["purchase", "order", "support_contact"]
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    """The site's own id for it (order number…): sending it again stores nothing."""
    value: Annotated[float, msgspec.Meta(ge=0, le=1e9)] | None = None
    currency: Annotated[str, msgspec.Meta(pattern=r"\A[A-Z]{3}\Z")] | None = None


class OutcomeReply(msgspec.Struct, frozen=True):
    """Stored (or, ``duplicate``, stored before)."""

    duplicate: bool
    purchases: int
    support_contacts: int


_OUTCOME: Final = msgspec.json.Decoder(OutcomeIn)
_MODEL: Final = msgspec.json.Decoder(dict[str, ScoreModel])


async def load_models(services: Services, site_id: int) -> dict[str, ScoreModel]:
    """The site's trained models, priors where there are none."""
    text = await config_store.site_config(services.storage, site_id, "model")
    models = _MODEL.decode(text) if text else {}
    return {t: models.get(t) or prior_model(t) for t in ("conversion", "abandon")}


def profile_row(
    visitor: str, profile: Profile, *, site_id: int, holdout: float, now: float,
    models: dict[str, ScoreModel],
) -> dict[str, Any]:  # fmt: skip
    """One exported profile (flat: the same keys in JSON and CSV)."""
    conversion = score_profile(models["conversion"], profile, now)
    abandon = score_profile(models["abandon"], profile, now)
    recency = profile.recency_days(now)
    row: dict[str, Any] = {
        "visitor": visitor,
        "visits": profile.visits,
        "first_seen": profile.first_seen,
        "last_seen": profile.last_seen,
        "recency_days": None if recency is None else round(recency, 2),
        "visits_per_week": round(profile.frequency(), 3),
        "typical_hour_utc": profile.typical_hour,
        "purchases": profile.purchases,
        "revenue": ";".join(f"{c} {v:g}" for c, v in sorted(profile.revenue.items())),
        "support_contacts": profile.support_contacts,
        "consent": profile.consent,
        "arm": arm_of(site_id, visitor, holdout),
        "lead_score": conversion.probability,
        "abandon_risk": abandon.probability,
    }
    for pattern in PATTERNS:
        latest = profile.patterns.get(pattern)
        row[f"score_{pattern}"] = None if latest is None else latest.score
    return row


class ExportsController(Controller):
    """Profile export and server-side outcomes."""

    path = "/v1/admin/sites"
    tags = ["admin"]  # noqa: RUF012 - Litestar's class attribute

    @get(
        "/{site_key:str}/profiles",
        responses=error_responses(403, 404, 422, 503),
        summary="Export the site's visitor profiles (JSON or CSV)",
        cache=False,
    )
    async def export_profiles(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        site_key: SiteKeyPath,
        format: Annotated[
            Literal["json", "csv"], QueryParameter(description="json (default) or csv")
        ] = "json",
    ) -> Response[Any]:
        """Requires the site's admin token. A full scan of the site's profiles."""
        site = await authorise_admin(request, services, site_key)
        now = services.clock()
        models = await load_models(services, site.id)
        playbook = await services.hints.playbook(site.id)
        rows = [
            profile_row(v, p, site_id=site.id, holdout=playbook.experiment.holdout, now=now,
                        models=models)
            for v, p in await services.storage.site_profiles(site.id)
        ]  # fmt: skip
        if format == "json":
            return Response(
                {"site": site.site_key, "profiles": rows}, media_type="application/json"
            )
        out = io.StringIO()
        columns = list(profile_row("x", Profile(), site_id=0, holdout=0, now=now, models=models))
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return Response(
            out.getvalue(),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" (once)
            headers={"Content-Disposition": f'attachment; filename="{site.site_key}-profiles.csv"'},
        )

    @post(
        "/{site_key:str}/outcomes",
        status_code=200,
        responses=error_responses(400, 403, 404, 413, 422, 503),
        summary="Report a purchase, order or support contact from the site's server",
    )
    async def outcome(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        site_key: SiteKeyPath,
    ) -> OutcomeReply:
        """Idempotent on ``id``: stored through the ingest writer as a server-side batch,
        so the profile update commits with it and never counts as a visit."""
        site = await authorise_admin(request, services, site_key)
        raw = await read_body(
            request, services.settings.max_body_bytes, advice="send one outcome per request"
        )
        data = decode_body(_OUTCOME, raw, where="outcomes")
        if (data.value is None) != (data.currency is None):
            raise ApiError(422, "send value and currency together", "$.currency")
        action = _ACTION[data.kind]
        digest = hashlib.sha256(f"{data.kind}:{data.id}".encode()).hexdigest()[:40]
        body: dict[str, Any] = {"kind": "action", "name": action}
        values: tuple[tuple[float, str], ...] = ()
        if data.value is not None and data.currency is not None:
            body |= {"value": data.value, "currency": data.currency}
            values = ((data.value, data.currency),)
        result = await services.storage.ingest(
            IngestBatch(
                site_id=site.id,
                visitor=data.visitor,
                session="server-outcome",
                batch_id=OUTCOME_BATCH_PREFIX + digest,
                received_at=services.clock(),
                signals=StoredSignals.of(
                    [StoredSignal(kind="action", body=msgspec.json.encode(body).decode())]
                ),
                observations=Observations(
                    actions=frozenset({action}), purchase_values=values, server_side=True
                ),
            )
        )
        return OutcomeReply(
            duplicate=result.duplicate,
            purchases=result.profile.purchases,
            support_contacts=result.profile.support_contacts,
        )
